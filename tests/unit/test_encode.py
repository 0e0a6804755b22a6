"""Binary COPY streams built ahead of the transaction (`warehouse.encode`); what Postgres
makes of them is tested end to end in tests/integration/test_first_load.py."""

from datetime import UTC, datetime, timedelta

import pytest
from psycopg import adapters, pq

from pelcro_sync.entities import ENTITIES, get_entity
from pelcro_sync.transform.normalize import normalize
from pelcro_sync.warehouse import encode

SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


def _customers(n: int) -> list[dict]:
    # lengths vary row to row, so each row's stamp sits at an offset of its own
    return [{"id": i, "email": f"{'x' * i}@example.com", "first_name": "Zoë" * (i % 3)}
            for i in range(1, n + 1)]  # fmt: skip


def test_stamped_sets_every_rows_synced_at_and_nothing_else() -> None:
    entity = get_entity("customers")
    encoded = encode.for_table(entity, 42, normalize(entity, _customers(7)).frame)
    at = datetime(2026, 11, 28, 12, 30, 15, 123456, tzinfo=UTC)
    out = encode.stamped(encoded, at)

    assert out.startswith(SIGNATURE) and out.endswith(b"\xff\xff")
    assert len(out) == len(encoded.payload) and encoded.stamp_ends is not None
    assert encoded.into_table
    micros = (at - datetime(2000, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    stamp = micros.to_bytes(8, "big", signed=True)
    changed = set()
    for end in encoded.stamp_ends.tolist():
        assert out[end - 12 : end - 8] == (8).to_bytes(4, "big")  # the field's length word
        assert out[end - 8 : end] == stamp
        changed.update(range(end - 8, end))
    assert len(changed) == 7 * 8  # seven distinct rows
    assert all(out[i] == encoded.payload[i] for i in range(len(out)) if i not in changed)


def test_a_stage_stream_has_no_stamp_to_set() -> None:
    entity = get_entity("customers")
    encoded = encode.for_stage(entity, normalize(entity, _customers(2)).frame)
    assert encoded.rows == 2 and encoded.payload.startswith(SIGNATURE)
    assert not encoded.into_table
    with pytest.raises(ValueError, match="_synced_at"):
        encode.stamped(encoded, datetime.now(UTC))


def test_a_repeated_key_is_encoded_once() -> None:
    entity = get_entity("customers")
    records = [*_customers(3), {"id": 2, "email": "again@example.com"}]
    frame = normalize(entity, records).frame
    assert encode.for_table(entity, 1, frame).rows == encode.for_stage(entity, frame).rows == 3


@pytest.mark.parametrize("into_table", [False, True])
def test_every_wire_type_is_dumped_in_c(into_table: bool) -> None:
    """A Python dumper costs a call per value: the bytea oid, for one, picks dbapi20's."""
    wire = {t for e in ENTITIES for t in encode._wire_types(e, into_table)} | {"int8"}
    modules = {
        t: adapters.get_dumper_by_oid(adapters.types.get_oid(t), pq.Format.BINARY).__module__
        for t in wire
    }
    assert {t: m for t, m in modules.items() if not m.startswith("psycopg_binary")} == {}


def test_psycopgs_private_row_encoder_still_writes_the_documented_binary_copy_row() -> None:
    """encode.py calls `psycopg._copy_base.format_row_binary` (the C encoder behind
    `Copy.write_row`): psycopg's public API has no way to build a COPY row without a
    connection, and framing rows in Python is ~6x slower. pyproject.toml caps psycopg at
    the minor version this was checked with; this fails loudly if a release moves, drops
    or changes it, so the cap is not raised blindly."""
    import psycopg
    from psycopg import _copy_base
    from psycopg.adapt import PyFormat, Transformer

    assert callable(getattr(_copy_base, "format_row_binary", None)), (
        f"psycopg {psycopg.__version__} no longer has _copy_base.format_row_binary: "
        "pelcro_sync/warehouse/encode.py must change before the psycopg pin is raised"
    )
    # The C implementation, not the pure-Python fallback (which would halve throughput).
    assert _copy_base.format_row_binary is not _copy_base._format_row_binary
    wire = ["int8", "text", "bool", "float8", "int8"]
    tx = Transformer()
    tx.set_dumper_types([adapters.types.get_oid(t) for t in wire], pq.Format.BINARY)
    row = (2**40, "Zoë", True, 1.5, None)
    out = bytearray()
    _copy_base.format_row_binary(row, tx, out)
    # PostgreSQL docs, COPY binary format: int16 field count, then per field an int32
    # length (-1 for null) and the value's binary form.
    expected = bytearray(len(wire).to_bytes(2, "big"))
    for value in tx.dump_sequence(row, [PyFormat.BINARY] * len(wire)):
        if value is None:
            expected += (-1).to_bytes(4, "big", signed=True)
        else:
            expected += len(value).to_bytes(4, "big") + bytes(value)
    assert bytes(out) == bytes(expected)
