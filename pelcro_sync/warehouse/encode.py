"""A normalized batch as one binary COPY stream: the bytes Postgres reads, built ahead of
the transaction that sends them.

Building the stream needs no connection, only psycopg's C dumpers, so a scan builds it on
its prepare thread (`pelcro_sync.pipeline.scan`) and the transaction is a single write. Two
shapes: rows for the merge's staging table (`for_stage`), and rows for the entity's table
itself (`for_table`, a first load), whose `_synced_at` is the one value that depends on
the transaction and is stamped in by `stamped` once it is known.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from psycopg import adapters, pq

# Private: the C row encoder behind Copy.write_row. The public API builds COPY rows only
# through a connection's cursor, and framing them in Python costs ~6x more per row (30 µs
# against 5, measured here). pyproject.toml caps psycopg's minor version, and
# tests/unit/test_encode.py fails loudly if a release moves or changes this function.
from psycopg._copy_base import format_row_binary
from psycopg.adapt import Transformer

from pelcro_sync import collector
from pelcro_sync.entities import Entity, Kind
from pelcro_sync.transform import raw_hash

# Staging column type and the binary COPY wire type for each kind. Timestamps travel as
# int8 microseconds since 2000-01-01, which is exactly timestamptz's binary form, so no
# datetime objects are built; JSON travels as text and is parsed once, in the INSERT.
STAGE_TYPES: dict[Kind, tuple[str, str]] = {
    "bigint": ("bigint", "int8"),
    "numeric": ("float8", "float8"),
    "text": ("text", "text"),
    "boolean": ("boolean", "bool"),
    "timestamp": ("timestamptz", "int8"),
    "json": ("text", "text"),
}
PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in unix microseconds
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# The binary COPY file format (PostgreSQL docs, "COPY", Binary Format): a signature, a
# flags field and a header-extension length, then the rows, then a -1 field count.
_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_TRAILER = b"\xff\xff"
_STAMP_BYTES = 8  # a timestamptz value: the last 8 bytes of each `for_table` row


@dataclass(frozen=True)
class Encoded:
    """One batch's COPY stream; `stamp_ends` (for the table) where each row's
    `_synced_at` value ends, to be filled in by `stamped`; `site_id` and `ids` (for the
    table) the rows' keys."""

    payload: bytes
    rows: int
    stamp_ends: np.ndarray | None = None
    site_id: int | None = None
    ids: list[int] | None = None

    @property
    def into_table(self) -> bool:
        """Encoded for the entity's table (`for_table`), else for staging (`for_stage`)."""
        return self.stamp_ends is not None


def for_stage(entity: Entity, frame: pd.DataFrame) -> Encoded:
    """`frame` is a `normalize()` frame (`NormalizedBatch.frame`), as for `for_table`.

    Rows for the staging table (`id`, the fields, `_raw`, `_raw_hash`) in their staging
    types; a key
    repeated in the frame keeps its last occurrence, as with every encoding here."""
    frame = _last_per_id(frame)
    return _encode(_wire_types(entity, False), _columns(entity, frame, False), len(frame))


def for_table(entity: Entity, site_id: int, frame: pd.DataFrame) -> Encoded:
    """Rows for the entity's own table: `site_id`, `id`, the fields, `_raw` (numeric as
    numeric, JSON as jsonb), `_raw_hash` and `_synced_at`, left as zeros until `stamped`."""
    frame = _last_per_id(frame)
    n = len(frame)
    wire = ["int8", *_wire_types(entity, True), "int8"]
    columns = [[site_id] * n, *_columns(entity, frame, True), [0] * n]
    encoded = _encode(wire, columns, n, stamp=True)
    return Encoded(encoded.payload, n, encoded.stamp_ends, site_id=site_id, ids=columns[1])


def stamped(encoded: Encoded, synced_at: datetime) -> bytearray:
    """A copy of `encoded`'s payload with every row's `_synced_at` set to `synced_at`."""
    if encoded.stamp_ends is None:
        raise ValueError("this stream has no _synced_at column")
    micros = (synced_at - _PG_EPOCH) // _MICROSECOND
    out = bytearray(encoded.payload)
    at = encoded.stamp_ends[:, None] - np.arange(_STAMP_BYTES, 0, -1)
    # a view over `out`: the stamps land in it without another copy of the stream
    np.frombuffer(out, dtype=np.uint8)[at] = np.frombuffer(
        micros.to_bytes(_STAMP_BYTES, "big", signed=True), dtype=np.uint8
    )
    return out


def _last_per_id(frame: pd.DataFrame) -> pd.DataFrame:
    # a page boundary that shifted mid-scan repeats a record; its later copy is the newer
    return frame if frame["id"].is_unique else frame.drop_duplicates("id", keep="last")


def _encode(
    wire: Sequence[str], columns: Sequence[Iterable[Any]], rows: int, *, stamp: bool = False
) -> Encoded:
    tx = Transformer()
    tx.set_dumper_types([adapters.types.get_oid(t) for t in wire], pq.Format.BINARY)
    out = bytearray(_SIGNATURE)
    ends = np.empty(rows if stamp else 0, dtype=np.int64)
    with collector.paused():
        if stamp:
            for i, row in enumerate(zip(*columns, strict=True)):
                format_row_binary(row, tx, out)
                ends[i] = len(out)
        else:
            for row in zip(*columns, strict=True):
                format_row_binary(row, tx, out)
    out += _TRAILER
    return Encoded(bytes(out), rows, ends if stamp else None)


def _columns(entity: Entity, frame: pd.DataFrame, into_table: bool) -> list[list[Any]]:
    columns = [frame["id"].tolist()]
    columns += [_wire_values(frame[f.name], f.kind, into_table) for f in entity.fields]
    columns.append(_wire_values(frame["_raw"], "json", into_table))
    columns.append(raw_hash.of_texts(frame["_raw"].tolist()))
    return columns


def _wire_types(entity: Entity, into_table: bool) -> list[str]:
    """id, the fields, _raw and _raw_hash: binary COPY types, cached per entity."""
    key = (entity.name, into_table)
    wire = _WIRE_TYPES.get(key)
    if wire is None:
        # jsonb's binary form is a version byte and the text, which `_wire_values` builds
        # as a str. Binary COPY sends no type oids, so it travels through psycopg's C text
        # dumper: the bytea oid would pick dbapi20's Python dumper, one call per value.
        table_types = {"numeric": "numeric", "json": "text"} if into_table else {}
        kinds = [table_types.get(f.kind, STAGE_TYPES[f.kind][1]) for f in entity.fields]
        wire = _WIRE_TYPES[key] = ["int8", *kinds, table_types.get("json", "text"), "int8"]
    return wire


# Process-wide on purpose: a pure function of the registry entry, immutable, so any
# thread and warehouse may share it; built once per entity and shape, not per batch.
_WIRE_TYPES: dict[tuple[str, bool], list[str]] = {}


def _wire_values(column: pd.Series, kind: Kind, into_table: bool = False) -> list[Any]:
    """Python values psycopg's C dumpers take directly, None for null. With `into_table`,
    numeric values are the Decimals Postgres's float8-to-numeric cast would give, and JSON
    is jsonb's binary form; otherwise floats and text."""
    if kind in ("text", "json"):
        # str or None, as normalize() types them: not checked again here, where each look
        # at a value of a batch typed a while ago is a cache miss (3% of a sync's CPU)
        texts = column.tolist()
        if kind == "json" and into_table:
            return [None if v is None else "\x01" + v for v in texts]
        return texts
    mask = column.isna().to_numpy()
    if kind == "timestamp":
        values: np.ndarray = column.dt.as_unit("us").array.asi8 - PG_EPOCH_US
    elif kind == "bigint":
        values = column.to_numpy(dtype=np.int64, na_value=0)
    elif kind == "numeric":
        values = column.to_numpy(dtype=np.float64, na_value=0.0)
    else:
        values = column.to_numpy(dtype=bool, na_value=False)
    boxed = values.astype(object)  # numpy scalars become Python ints, floats and bools
    if kind == "numeric" and into_table:
        # Postgres casts float8 to numeric through 15 significant digits (DBL_DIG): the
        # same digits here keep a first load identical to what the merge would write.
        boxed = np.array([Decimal(f"{v:.15g}") for v in boxed.tolist()], dtype=object)
    if mask.any():
        boxed[mask] = None
    return boxed.tolist()
