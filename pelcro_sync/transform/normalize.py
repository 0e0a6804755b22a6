"""Records -> typed DataFrame for one entity: pure, cast column by column, never raising.

Text policy (Postgres stores neither NUL nor lone UTF-16 surrogates in `text`/`jsonb`):
every string in a record, keys included, has NUL written as the six characters `\\u0000`
and each lone surrogate as `\\udXXX` before anything else happens. The same escaped
record feeds `_raw` and the typed columns, so both agree and nothing else is altered;
`NormalizedBatch.repaired` counts the records that needed it.

Typing policy: a value that cannot be typed for its column (a date that does not parse, a
year outside 1..9999, text where a number belongs, an integer beyond int64, an object where
text belongs) becomes null in that column, stays in `_raw`, and is counted per column in
`type_errors`. An empty string is treated as absent (null, not an error) in typed columns.

Speed (this runs for every synced record): each step handles the whole batch or a whole
column in C (map, itemgetter, numpy) when the values have the usual shape, which the set of
their Python types tells; any other batch or column goes value by value, as the rules say.
"""

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import compress, repeat
from operator import itemgetter
from typing import Any

import numpy as np
import orjson
import pandas as pd
from pandas.arrays import DatetimeArray

from pelcro_sync import collector
from pelcro_sync.entities import Entity, Kind

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Unix seconds of 0001-01-01 and 10000-01-01: the years Python, Postgres and the API share.
MIN_SECONDS, MAX_SECONDS = -62_135_596_800, 253_402_300_800
NAT = np.iinfo(np.int64).min  # pandas' NaT in an int64 view
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)
_INT_RE = re.compile(r"[+-]?\d+")
_NUL_ESCAPED = b"\\u0000"
_find_nul = re.compile(re.escape(_NUL_ESCAPED.decode())).search
_BAD = object()
UTC_MICROS = pd.DatetimeTZDtype("us", "UTC")
_NONE = type(None)
_BOOLS: dict[Any, bool] = {
    True: True,
    False: False,
    "1": True,
    "0": False,
    "true": True,
    "false": False,
}
# The Python types the fast paths take (`type(True)` is bool, so _INTS has no booleans).
_NULL: frozenset[type] = frozenset({_NONE})
_INTS: frozenset[type] = frozenset({int, _NONE})
_TEXTS: frozenset[type] = frozenset({str, _NONE})
_FLAGS, _NUMBERS = _INTS | {bool}, _INTS | {float}
# A batch read: ids, each field's values, the JSON texts, and dropped and repaired counts.
Read = tuple[np.ndarray, list[Sequence[Any]], list[str], int, int]


@dataclass(frozen=True)
class NormalizedBatch:
    """One page of records, typed.

    Attributes:
        frame: columns `id` (int64), every declared field in registry order, then `_raw`
            (the record as JSON text). Kinds map to dtypes: bigint `Int64`, numeric
            `Float64`, boolean `boolean`, timestamp `datetime64[us, UTC]`, text and json
            `object` (str or None; json holds JSON text).
        type_errors: per column, how many values could not be typed (they are null there).
        dropped: records skipped for want of a usable integer `id`.
        repaired: records whose strings had NUL or lone surrogates escaped.
    """

    frame: pd.DataFrame
    type_errors: dict[str, int] = field(default_factory=dict)
    dropped: int = 0
    repaired: int = 0

    def __len__(self) -> int:
        return len(self.frame)


def normalize(entity: Entity, records: list[dict[str, Any]]) -> NormalizedBatch:
    """Type one batch of API records for `entity`'s table; see the module docstring."""
    with collector.paused():
        names = entity.field_names
        ids, values, raws, dropped, repaired = _read_usual(records, names) or _read(records, names)
        columns: dict[str, Any] = {"id": ids}
        errors: dict[str, int] = {}
        for f, column in zip(entity.fields, values, strict=True):
            if (vocabulary := VOCABULARIES.get((entity.name, f.name))) is not None:
                column = [vocabulary.get(v, v) if type(v) is bool else v for v in column]
            columns[f.name], bad = CASTS[f.kind](column)
            if bad:
                errors[f.name] = bad
        columns["_raw"] = _object_array(raws)
        frame = _frame(columns, len(ids))
    return NormalizedBatch(frame=frame, type_errors=errors, dropped=dropped, repaired=repaired)


# Fields the API sends in two forms (README §0): the typed column keeps one vocabulary,
# `_raw` the original. plans.active is a bool in the attribute table, "active"/"archived"
# in newer docs and webhooks.
VOCABULARIES: dict[tuple[str, str], dict[bool, str]] = {
    ("plans", "active"): {True: "active", False: "archived"},
}


def _read_usual(records: list[dict[str, Any]], names: tuple[str, ...]) -> Read | None:
    """`_read` for the usual batch, in whole-batch steps; None for any other batch.

    The usual batch: plain dicts with int ids within int64 that orjson writes without NUL.
    A batch outgrows the CPU caches, so each step visits every record once, in C.
    """
    if not _types(records) <= {dict}:
        return None
    ids, *values = _columns(records, ("id", *names))
    if not _types(ids) <= {int}:
        return None
    try:
        id_array = np.fromiter(ids, dtype=np.int64, count=len(ids))
        raws = list(map(bytes.decode, map(orjson.dumps, records)))
    except (OverflowError, TypeError):  # an id beyond int64; a lone surrogate or big integer
        return None
    # A NUL escape starts with a backslash, which memchr rules out at once in most records;
    # in the others a regex, which scans for that backslash, beats `in`.
    if any(map(_find_nul, compress(raws, map(str.__contains__, raws, repeat("\\"))))):
        return None
    return id_array, values, raws, 0, 0


def _read(records: list[dict[str, Any]], names: tuple[str, ...]) -> Read:
    """Ids, field values and JSON text of storable records; dropped and repaired counts."""
    ids: list[int] = []
    kept: list[dict] = []
    raws: list[str] = []
    dropped = repaired = 0
    for rec in records:
        rid = _as_int(rec.get("id")) if isinstance(rec, dict) else None
        if rid is None:
            dropped += 1
            continue
        try:
            raw = orjson.dumps(rec)
            suspect = _NUL_ESCAPED in raw
        except TypeError:  # lone surrogate or an integer beyond 64 bits
            raw, suspect = b"", True
        if suspect:
            clean = _sanitize(rec)
            repaired += clean != rec
            rec, raw = clean, dumps_json(clean).encode()
        ids.append(rid)
        kept.append(rec)
        raws.append(raw.decode())
    values: list[Sequence[Any]] = [list(map(dict.get, kept, repeat(n))) for n in names]
    return np.array(ids, dtype=np.int64), values, raws, dropped, repaired


def _columns(records: list[dict[str, Any]], names: tuple[str, ...]) -> list[Sequence[Any]]:
    """Each name's values across the records (plain dicts), None where absent.

    Record by record when all have the first one's keys: one visit per dict rather than one
    per name keeps it in cache, at half the cost.
    """
    keys = list(records[0]) if records else []
    # As many keys as the first and all of its keys: the same keys. (An itemgetter of one key
    # returns the value itself, not a tuple.)
    if len(keys) > 1 and set(map(len, records)) == {len(keys)}:
        try:
            rows = zip(*map(itemgetter(*keys), records), strict=True)
        except KeyError:
            pass
        else:
            by_key, absent = dict(zip(keys, rows, strict=True)), [None] * len(records)
            return [by_key.get(n, absent) for n in names]
    return [list(map(dict.get, records, repeat(n))) for n in names]


def dumps_json(value: Any) -> str:
    """Compact JSON text; falls back to the standard library for integers beyond 64 bits."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def sanitize(value: Any) -> Any:
    """`value` (parsed JSON) under the text policy of the module docstring: every string,
    keys included, with NUL and lone surrogates written as visible escapes. For other
    callers that store JSON (the webhook receiver); recursive, so bound the depth first."""
    return _sanitize(value)


def _sanitize(value: Any) -> Any:
    if type(value) is str:
        return _escape(value)
    if type(value) is dict:
        return {(_escape(k) if type(k) is str else k): _sanitize(v) for k, v in value.items()}
    if type(value) is list:
        return [_sanitize(v) for v in value]
    return value


def _escape(text: str) -> str:
    if "\x00" in text:
        text = text.replace("\x00", "\\u0000")
    try:
        text.encode()
    except UnicodeEncodeError:  # lone surrogates: keep their code as visible text
        text = text.encode("utf-8", "backslashreplace").decode()
    return text


def _as_int(value: Any) -> int | None:
    """An int64 from an int, an integral float or a digit string; None otherwise."""
    t = type(value)
    if t is float:
        if not value.is_integer():
            return None
        value = int(value)
    elif t is str:
        text = value.strip()
        if not _INT_RE.fullmatch(text):
            return None
        value = int(text)
    elif t is not int:
        return None
    return value if INT64_MIN <= value <= INT64_MAX else None


def _as_float(value: Any) -> float | None:
    t = type(value)
    if t is not float and t is not int and t is not str:
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _types(values: Sequence[Any]) -> set[type]:
    return set(map(type, values))


def _numbers(values: Sequence[Any], only: frozenset[type], dtype: type) -> tuple[Any, Any] | None:
    """Data (0 where null) and null mask when every value is of the `only` types and fits
    `dtype`, without pandas' inference; None otherwise."""
    types, n = _types(values), len(values)
    if not types <= only:
        return None
    if types <= _NULL:
        return np.zeros(n, dtype=dtype), np.ones(n, dtype=bool)
    try:
        if _NONE not in types:
            return np.fromiter(values, dtype=dtype, count=n), np.zeros(n, dtype=bool)
        array = _object_array(values)
        mask = np.equal(array, None)  # type: ignore[call-overload]
        array[mask] = 0
        return array.astype(dtype), mask
    except OverflowError:
        return None


def _cast_bigint(values: Sequence[Any]) -> tuple[Any, int]:
    if (numbers := _numbers(values, _INTS, np.int64)) is not None:
        return pd.arrays.IntegerArray(*numbers), 0
    out: list[int | None] = []
    bad = 0
    for v in values:
        if type(v) is not int or not INT64_MIN <= v <= INT64_MAX:
            if v is not None and v != "":
                v = _as_int(v)
                bad += v is None
            else:
                v = None
        out.append(v)
    return pd.array(out, dtype="Int64"), bad


def _cast_numeric(values: Sequence[Any]) -> tuple[Any, int]:
    if (numbers := _numbers(values, _NUMBERS, np.float64)) is not None:
        data, mask = numbers
        infinite = ~mask & ~np.isfinite(data)
        return pd.arrays.FloatingArray(data, mask | infinite), int(infinite.sum())
    out: list[float | None] = []
    bad = 0
    for v in values:
        if v is not None and v != "":
            v = _as_float(v)
            bad += v is None
        else:
            v = None
        out.append(v)
    return pd.array(out, dtype="Float64"), bad


def _cast_boolean(values: Sequence[Any]) -> tuple[Any, int]:
    # true/false, or 1/0 as some endpoints send them
    if (numbers := _numbers(values, _FLAGS, np.int64)) is not None:
        data, mask = numbers
        invalid = (data != 0) & (data != 1)
        return pd.arrays.BooleanArray(data == 1, mask | invalid), int(invalid.sum())
    out: list[bool | None] = []
    bad = 0
    for v in values:
        if v is None or v == "":
            out.append(None)
            continue
        t = type(v)
        key = v.strip().lower() if t is str else v if t in (bool, int, float) else _BAD
        b = _BOOLS.get(key, _BAD)
        if b is _BAD:
            bad += 1
            b = None
        out.append(b)  # type: ignore[arg-type]
    return pd.array(out, dtype="boolean"), bad


def _cast_timestamp(values: Sequence[Any]) -> tuple[Any, int]:
    # The API's usual form, whole unix seconds, goes in one go; the rest (ISO strings,
    # usually a few) one by one.
    if (numbers := _numbers(values, _INTS, np.int64)) is not None:
        seconds, mask = numbers
        micros, bad = _unix_micros(seconds, ~mask)
        return _stamps(micros), bad
    kinds = np.fromiter(map(type, values), dtype=object, count=len(values))
    ints = np.equal(kinds, int)  # type: ignore[call-overload]
    seconds = np.zeros(len(values), dtype=np.int64)
    try:
        seconds[ints] = _object_array(values)[ints].astype(np.int64)
    except OverflowError:  # beyond int64: leave every value to the one-by-one rules
        ints[:] = False
    micros, bad = _unix_micros(seconds, ints)
    others = ~ints & np.not_equal(kinds, _NONE)  # type: ignore[call-overload]
    for i in np.flatnonzero(others).tolist():
        us = _timestamp_micros(values[i]) if values[i] != "" else NAT
        if us is None:
            bad += 1
        else:
            micros[i] = us
    return _stamps(micros), bad


def _unix_micros(seconds: np.ndarray, given: np.ndarray) -> tuple[np.ndarray, int]:
    """Microseconds from the `given` unix seconds (NaT elsewhere); how many were out of range."""
    valid = given & (seconds >= MIN_SECONDS) & (seconds < MAX_SECONDS)
    return np.where(valid, seconds * 1_000_000, NAT), int(np.count_nonzero(given & ~valid))


def _stamps(micros: np.ndarray) -> Any:
    """UTC stamps over the microseconds, unchecked: `DatetimeArray._simple_new` costs a
    twentieth of `pd.array`, the fallback if it ever goes away."""
    naive = micros.view("M8[us]")
    try:
        return DatetimeArray._simple_new(naive, dtype=UTC_MICROS)  # type: ignore[attr-defined]
    except (AttributeError, TypeError):
        return pd.array(naive, dtype=UTC_MICROS)


def _timestamp_micros(value: Any) -> int | None:
    """Microseconds since 1970 from unix seconds (number or numeric text) or ISO-8601 text."""
    seconds = _as_float(value) if type(value) is not bool else None
    if seconds is not None:
        if not MIN_SECONDS <= seconds < MAX_SECONDS:
            return None
        return round(seconds * 1_000_000)
    if type(value) is not str:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
        if moment.tzinfo is None:  # the API's "Y-m-d H:i:s" strings are UTC
            moment = moment.replace(tzinfo=UTC)
        micros = (moment - EPOCH) // ONE_MICROSECOND
    except (ValueError, OverflowError):
        return None
    return micros if MIN_SECONDS * 1_000_000 <= micros < MAX_SECONDS * 1_000_000 else None


def _cast_text(values: Sequence[Any]) -> tuple[Any, int]:
    if _types(values) <= _TEXTS:
        return _object_array(values), 0
    out: list[str | None] = []
    bad = 0
    for v in values:
        t = type(v)
        if t is not str and v is not None:
            if t is bool:
                v = "true" if v else "false"
            elif t is int or t is float:
                v = str(v)
            else:
                bad += 1
                v = None
        out.append(v)
    return _object_array(out), bad


def _cast_json(values: Sequence[Any]) -> tuple[Any, int]:
    dumps = orjson.dumps
    try:
        texts = [None if v is None else dumps(v).decode() for v in values]
    except TypeError:  # an integer beyond 64 bits
        texts = [None if v is None else dumps_json(v) for v in values]
    return _object_array(texts), 0


def _object_array(values: Sequence[Any]) -> np.ndarray:
    # An explicit object array: pandas would otherwise infer its `str` dtype (NaN for null),
    # and np.array would look into lists (and is slow on None).
    return np.fromiter(values, dtype=object, count=len(values))


def _frame(columns: dict[str, Any], rows: int) -> pd.DataFrame:
    """The frame over the columns as built (no copy, no dtype inference).

    `DataFrame._from_arrays` without integrity checks is a third of the public
    constructor's cost per 100-record page, and keeps object arrays as object; the public
    route (object columns wrapped as object Series) is the fallback if it ever goes away.
    """
    names, arrays = list(columns), list(columns.values())
    from_arrays = getattr(pd.DataFrame, "_from_arrays", None)
    if from_arrays is not None:
        try:
            return from_arrays(
                arrays, columns=names, index=pd.RangeIndex(rows), verify_integrity=False
            )
        except TypeError:
            pass
    wrapped = {
        n: pd.Series(a, dtype=object) if getattr(a, "dtype", None) == np.dtype(object) else a
        for n, a in columns.items()
    }
    return pd.DataFrame(wrapped, copy=False)


CASTS: dict[Kind, Callable[[Sequence[Any]], tuple[Any, int]]] = {
    "bigint": _cast_bigint,
    "numeric": _cast_numeric,
    "boolean": _cast_boolean,
    "timestamp": _cast_timestamp,
    "text": _cast_text,
    "json": _cast_json,
}
