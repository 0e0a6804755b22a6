"""normalize(): typing rules per kind, counted type errors, _raw fidelity, dropped records."""

from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import orjson
import pandas as pd
import pytest

from pelcro_sync.entities import Entity, fields, get_entity
from pelcro_sync.transform import normalize as nz
from pelcro_sync.transform.normalize import NormalizedBatch, normalize

PROBE = Entity(
    name="probe",
    path="/probe",
    fields=fields(bigint="n", numeric="x", text="s", boolean="b", timestamp="t", json="j"),
)
NA = None


def _one(field: str, value: Any) -> tuple[Any, dict[str, int]]:
    batch = normalize(PROBE, [{"id": 1, field: value}])
    cell = batch.frame[field].iloc[0]
    return (None if pd.isna(cell) else cell), batch.type_errors


def _utc(*parts: int) -> pd.Timestamp:
    return pd.Timestamp(datetime(*parts, tzinfo=UTC))  # type: ignore[misc]


TIMESTAMPS = [
    ("unix_int", 1616245118, _utc(2021, 3, 20, 12, 58, 38), 0),
    ("unix_float", 1616245118.25, _utc(2021, 3, 20, 12, 58, 38, 250000), 0),
    ("numeric_string", "1616245118", _utc(2021, 3, 20, 12, 58, 38), 0),
    ("iso_micros_z", "2023-02-21T13:06:47.000000Z", _utc(2023, 2, 21, 13, 6, 47), 0),
    ("iso_offset", "2023-02-21T15:06:47+02:00", _utc(2023, 2, 21, 13, 6, 47), 0),
    ("ymd_his", "2021-06-24 10:33:02", _utc(2021, 6, 24, 10, 33, 2), 0),
    ("year_9999", "9999-12-31T23:59:59Z", _utc(9999, 12, 31, 23, 59, 59), 0),
    ("year_1", "0001-01-01 00:00:00", _utc(1, 1, 1), 0),
    ("garbage", "next tuesday", NA, 1),
    ("year_0", "0000-01-01 00:00:00", NA, 1),
    ("year_10000", "10000-01-01T00:00:00Z", NA, 1),
    ("unix_year_10000", 253402300800, NA, 1),
    ("bool", True, NA, 1),
    ("object", {"date": 1}, NA, 1),
    ("null", None, NA, 0),
    ("empty_string", "", NA, 0),
]


@pytest.mark.parametrize(("value", "expected", "errors"), [c[1:] for c in TIMESTAMPS],
                         ids=[c[0] for c in TIMESTAMPS])  # fmt: skip
def test_timestamp_typing(value: Any, expected: Any, errors: int) -> None:
    cell, type_errors = _one("t", value)
    assert cell == expected
    assert type_errors.get("t", 0) == errors


BOOLEANS = [
    ("true", True, True, 0),
    ("false", False, False, 0),
    ("int_1", 1, True, 0),
    ("int_0", 0, False, 0),
    ("str_1", "1", True, 0),
    ("str_0", "0", False, 0),
    ("str_true", "true", True, 0),
    ("str_False", "False", False, 0),
    ("int_2", 2, NA, 1),
    ("word", "maybe", NA, 1),
    ("list", [1], NA, 1),
]


@pytest.mark.parametrize(("value", "expected", "errors"), [c[1:] for c in BOOLEANS],
                         ids=[c[0] for c in BOOLEANS])  # fmt: skip
def test_boolean_typing(value: Any, expected: Any, errors: int) -> None:
    cell, type_errors = _one("b", value)
    assert cell is expected or cell == expected
    assert type_errors.get("b", 0) == errors


BIGINTS = [
    ("int", 1999, 1999, 0),
    ("above_2_31", 2**31 + 5, 2**31 + 5, 0),
    ("int64_max", 2**63 - 1, 2**63 - 1, 0),
    ("beyond_2_63", 2**63, NA, 1),
    ("integral_float", 1999.0, 1999, 0),
    ("float_money", 19.99, NA, 1),
    ("digit_string", " 42 ", 42, 0),
    ("text", "abc", NA, 1),
    ("bool", False, NA, 1),
    ("object", {"id": 1}, NA, 1),
]


@pytest.mark.parametrize(("value", "expected", "errors"), [c[1:] for c in BIGINTS],
                         ids=[c[0] for c in BIGINTS])  # fmt: skip
def test_bigint_typing(value: Any, expected: Any, errors: int) -> None:
    cell, type_errors = _one("n", value)
    assert cell == expected
    assert type_errors.get("n", 0) == errors


NUMERICS = [
    ("float_money", 19.99, 19.99, 0),
    ("int", 7, 7.0, 0),
    ("numeric_string", "0.15", 0.15, 0),
    ("text", "lots", NA, 1),
    ("object", {"v": 1}, NA, 1),
]


@pytest.mark.parametrize(("value", "expected", "errors"), [c[1:] for c in NUMERICS],
                         ids=[c[0] for c in NUMERICS])  # fmt: skip
def test_numeric_typing(value: Any, expected: Any, errors: int) -> None:
    cell, type_errors = _one("x", value)
    assert cell == expected
    assert type_errors.get("x", 0) == errors


TEXTS = [
    ("plain", "usd", "usd", 0),
    ("emoji", "Zoë 🎉 北京", "Zoë 🎉 北京", 0),
    ("huge", "x" * 1_000_000, "x" * 1_000_000, 0),
    ("number", 12.5, "12.5", 0),
    ("bool", True, "true", 0),
    ("nul_byte", "a\x00b", "a\\u0000b", 0),
    ("lone_surrogate", "a\ud800b", "a\\ud800b", 0),
    ("dict", {"a": 1}, NA, 1),
    ("list", ["a"], NA, 1),
]


@pytest.mark.parametrize(("value", "expected", "errors"), [c[1:] for c in TEXTS],
                         ids=[c[0] for c in TEXTS])  # fmt: skip
def test_text_typing(value: Any, expected: Any, errors: int) -> None:
    cell, type_errors = _one("s", value)
    assert cell == expected
    assert type_errors.get("s", 0) == errors


JSONS = [
    ("metadata_object", {"plan": "gold", "n": 1}, '{"plan":"gold","n":1}'),
    ("metadata_array", [{"key": "a", "value": "b"}], '[{"key":"a","value":"b"}]'),
    ("scalar", "x", '"x"'),
    ("empty_array", [], "[]"),
    ("beyond_2_63", {"big": 2**64}, '{"big":18446744073709551616}'),
    ("null", None, NA),
]


@pytest.mark.parametrize(("value", "expected"), [c[1:] for c in JSONS], ids=[c[0] for c in JSONS])
def test_json_column_holds_any_json_value(value: Any, expected: Any) -> None:
    cell, type_errors = _one("j", value)
    assert cell == expected
    assert type_errors == {}


def test_raw_keeps_record_exactly_including_undeclared_fields() -> None:
    record = {"id": 5, "s": "é", "undeclared": {"nested": [1, 2.5, None]}, "t": "bad date"}
    batch = normalize(PROBE, [record])
    assert orjson.loads(batch.frame["_raw"].iloc[0]) == record
    assert batch.type_errors == {"t": 1}


def test_raw_escapes_nul_and_surrogates_in_values_and_keys() -> None:
    batch = normalize(PROBE, [{"id": 1, "k\x00": "v\x00", "s": "\udc80"}])
    assert orjson.loads(batch.frame["_raw"].iloc[0]) == {
        "id": 1, "k\\u0000": "v\\u0000", "s": "\\udc80"}  # fmt: skip
    assert batch.repaired == 1


def test_records_without_usable_id_are_dropped_and_counted() -> None:
    records = [{"id": 1}, {"id": None}, {"name": "no id"}, {"id": "abc"}, {"id": 2**64},
               {"id": "7"}, {"id": 8.0}, "not a record"]  # fmt: skip
    batch = normalize(PROBE, records)  # type: ignore[arg-type]
    assert batch.frame["id"].tolist() == [1, 7, 8]
    assert batch.dropped == 5


def test_frame_columns_and_dtypes_follow_the_registry() -> None:
    entity = get_entity("customers")
    batch = normalize(entity, [{"id": 1}])
    assert list(batch.frame.columns) == ["id", *entity.field_names, "_raw"]
    dtypes = batch.frame.dtypes
    assert str(dtypes["id"]) == "int64"
    assert str(dtypes["organization"]) == "Int64"
    assert str(dtypes["has_password"]) == "boolean"
    assert str(dtypes["created_at"]) == "datetime64[us, UTC]"
    assert str(dtypes["email"]) == "object" and str(dtypes["metadata"]) == "object"


def test_missing_fields_are_null_and_errors_count_per_column() -> None:
    records = [{"id": i, "t": "nope", "n": "x" if i % 2 else 3} for i in range(1, 5)]
    batch = normalize(PROBE, records)
    assert batch.type_errors == {"t": 4, "n": 2}
    assert batch.frame["s"].isna().all() and batch.frame["j"].isna().all()
    assert batch.frame["n"].tolist() == [pd.NA, 3, pd.NA, 3]


def test_empty_batch() -> None:
    batch = normalize(get_entity("subscriptions"), [])
    assert len(batch) == 0 and batch.dropped == 0


def _cells(batch: NormalizedBatch, column: str) -> list[Any]:
    return [None if pd.isna(v) else v for v in batch.frame[column].tolist()]


# A usual batch (plain dicts, int ids, nothing orjson cannot write, no NUL) with odd values
# among the usual ones in every column and records with differing keys; then the same with
# records that make the batch unusual.
ODD_COLUMNS = [
    {"id": 1, "n": 5, "x": 1.5, "s": "a", "b": True, "t": 1616245118, "j": {"k": 1}},
    {"id": 2, "n": 2**63, "x": 2**63, "s": 7, "b": 2, "t": "2021-06-24 10:33:02", "j": [1]},
    {"id": 3, "n": None, "x": 3, "s": None, "b": 1, "t": 2**63, "j": None},
    {"id": 4, "n": "", "x": "", "s": "", "b": 0, "t": "", "j": ""},
    {"id": 5, "n": -7, "x": None, "s": True, "b": None, "t": True, "j": 0},
    {"id": 6, "n": 1.0, "x": "0.5", "s": {"a": 1}, "b": False, "t": 253402300800},
    {"id": 7, "t": 1616245118.5, "extra": "e"},
    {"id": 8, "x": float("inf"), "t": float("nan")},  # from the standard library's parser
]
UNUSUAL = [
    *ODD_COLUMNS,
    {"id": "9", "n": 2**64, "x": float("nan"), "b": "true", "t": float("inf"), "j": {"big": 2**64}},
    {"id": 10, "s": "a\x00b", "k\x00": "\ud800"},
    {"id": 2**64}, {"id": True}, {"id": 11.5}, {"name": "no id"}, "not a record", None,
]  # fmt: skip


@pytest.mark.parametrize(("records", "usual"), [(ODD_COLUMNS, True), (UNUSUAL, False)],
                         ids=["odd_columns", "unusual_batch"])  # fmt: skip
def test_a_batch_types_each_record_as_it_would_alone(records: list[Any], usual: bool) -> None:
    assert (nz._read_usual(records, PROBE.field_names) is not None) is usual  # the path tested
    batch = normalize(PROBE, records)
    alone = [normalize(PROBE, [record]) for record in records]
    for column in batch.frame.columns:
        assert _cells(batch, column) == [c for one in alone for c in _cells(one, column)]
    assert batch.type_errors == dict(sum((Counter(one.type_errors) for one in alone), Counter()))
    assert batch.dropped == sum(one.dropped for one in alone)
    assert batch.repaired == sum(one.repaired for one in alone)


def test_escaped_nul_text_is_kept_as_written() -> None:
    record = {"id": 1, "s": "\\u0000", "j": {"\\u0000": "\\\\u0000"}}
    batch = normalize(PROBE, [record])
    assert batch.frame["s"].iloc[0] == "\\u0000"
    assert orjson.loads(batch.frame["_raw"].iloc[0]) == record
    assert batch.repaired == 0


def test_dict_subclass_records_are_read_like_plain_dicts() -> None:
    record = defaultdict(lambda: "default", {"id": 1, "s": "a"})
    batch = normalize(PROBE, [record])
    assert _cells(batch, "s") == ["a"] and _cells(batch, "n") == [None]
    assert dict(record) == {"id": 1, "s": "a"}  # no key added by a lookup
