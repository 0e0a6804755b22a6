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
"""

import gc
import json
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import repeat
from typing import Any

import numpy as np
import orjson
import pandas as pd

from pelcro_sync.entities import Entity, Kind

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Unix seconds of 0001-01-01 and 10000-01-01: the years Python, Postgres and the API share.
MIN_SECONDS, MAX_SECONDS = -62_135_596_800, 253_402_300_800
NAT = np.iinfo(np.int64).min  # pandas' NaT in an int64 view
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)
_INT_RE = re.compile(r"[+-]?\d+")
_NUL_ESCAPED = b"\\u0000"
_BAD = object()
UTC_MICROS = pd.DatetimeTZDtype("us", "UTC")
_NONE = type(None)
_BOOLS: dict[Any, bool] = {True: True, False: False, "1": True, "0": False, "true": True,
                           "false": False}  # fmt: skip


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


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic collector: it spends more than half of loops over many small dicts."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def normalize(entity: Entity, records: list[dict[str, Any]]) -> NormalizedBatch:
    """Type one batch of API records for `entity`'s table; see the module docstring."""
    with gc_paused():
        ids, kept, raws, dropped, repaired = _prepare(records)
        columns: dict[str, Any] = {"id": np.array(ids, dtype=np.int64)}
        errors: dict[str, int] = {}
        for f in entity.fields:
            name = f.name
            values, bad = CASTS[f.kind](list(map(dict.get, kept, repeat(name))))
            columns[name] = values
            if bad:
                errors[name] = bad
        columns["_raw"] = _object_array(raws)
        frame = _frame(columns, len(ids))
    return NormalizedBatch(frame=frame, type_errors=errors, dropped=dropped, repaired=repaired)


def _prepare(records: list[dict[str, Any]]) -> tuple[list[int], list[dict], list[str], int, int]:
    """Ids, storable records and their JSON text; counts of dropped and repaired records."""
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
    return ids, kept, raws, dropped, repaired


def dumps_json(value: Any) -> str:
    """Compact JSON text; falls back to the standard library for integers beyond 64 bits."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


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


def _int_array(values: list[Any]) -> pd.arrays.IntegerArray:
    """Int64 from ints and Nones (OverflowError beyond int64), without pandas' inference."""
    array = np.array(values, dtype=object)
    mask = np.equal(array, None)  # type: ignore[call-overload]
    array[mask] = 0
    return pd.arrays.IntegerArray(array.astype(np.int64), mask)


def _only(values: list[Any], *types: type) -> bool:
    return set(map(type, values)) <= {_NONE, *types}


def _cast_bigint(values: list[Any]) -> tuple[Any, int]:
    if _only(values, int):
        try:
            return _int_array(values), 0
        except OverflowError:
            pass
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
    return _int_array(out), bad


def _cast_numeric(values: list[Any]) -> tuple[Any, int]:
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


def _cast_boolean(values: list[Any]) -> tuple[Any, int]:
    if _only(values, bool):
        array = np.array(values, dtype=object)
        mask = np.equal(array, None)  # type: ignore[call-overload]
        array[mask] = False
        return pd.arrays.BooleanArray(array.astype(bool), mask), 0
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


def _cast_timestamp(values: list[Any]) -> tuple[Any, int]:
    if _only(values, int):  # the API's usual form: whole unix seconds, cast in one go
        try:
            seconds = _int_array(values)
        except OverflowError:
            pass
        else:
            data, mask = seconds.to_numpy(np.int64, na_value=0), seconds.isna()
            valid = ~mask & (data >= MIN_SECONDS) & (data < MAX_SECONDS)
            return _stamps(np.where(valid, data * 1_000_000, NAT)), int((~mask & ~valid).sum())
    micros: list[int] = []
    bad = 0
    for v in values:
        t = type(v)
        if t is int and MIN_SECONDS <= v < MAX_SECONDS:
            micros.append(v * 1_000_000)
            continue
        if v is None or v == "":
            micros.append(NAT)
            continue
        us = _timestamp_micros(v)
        if us is None:
            bad += 1
            us = NAT
        micros.append(us)
    return _stamps(np.array(micros, dtype=np.int64)), bad


def _stamps(micros: np.ndarray) -> Any:
    return pd.array(micros.view("M8[us]"), dtype=UTC_MICROS)


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


def _cast_text(values: list[Any]) -> tuple[Any, int]:
    if _only(values, str):
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


def _cast_json(values: list[Any]) -> tuple[Any, int]:
    return _object_array([None if v is None else dumps_json(v) for v in values]), 0


def _object_array(values: list[Any]) -> np.ndarray:
    # An explicit object array: pandas would otherwise infer its `str` dtype (NaN for null).
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


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
            return from_arrays(arrays, columns=names, index=pd.RangeIndex(rows),
                               verify_integrity=False)  # fmt: skip
        except TypeError:
            pass
    wrapped = {
        n: pd.Series(a, dtype=object) if getattr(a, "dtype", None) == np.dtype(object) else a
        for n, a in columns.items()
    }
    return pd.DataFrame(wrapped, copy=False)


CASTS: dict[Kind, Callable[[list[Any]], tuple[Any, int]]] = {
    "bigint": _cast_bigint,
    "numeric": _cast_numeric,
    "boolean": _cast_boolean,
    "timestamp": _cast_timestamp,
    "text": _cast_text,
    "json": _cast_json,
}
