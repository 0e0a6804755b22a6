"""upsert_batch / mark_deleted against a real Postgres: what lands, and what doesn't."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from psycopg import sql
from sqlalchemy import Connection

from pelcro_sync.entities import Entity, get_entity
from pelcro_sync.transform.normalize import normalize
from pelcro_sync.warehouse import upsert
from pelcro_sync.warehouse.upsert import UpsertCounts, mark_deleted, upsert_batch
from tests.fixtures.postgres import warehouse_of

SITE = 4021
PG_TYPES = {"bigint": "bigint", "numeric": "numeric", "text": "text", "boolean": "boolean",
            "timestamp": "timestamp with time zone", "json": "jsonb"}  # fmt: skip
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _value(kind: str, i: int, j: int) -> tuple[Any, Any]:
    """A source value of `kind` for record i, field j, and what Postgres should hold."""
    if kind == "bigint":
        return 2**31 + i * 1000 + j, 2**31 + i * 1000 + j
    if kind == "numeric":
        return 12.5 + i, Decimal(str(12.5 + i))
    if kind == "text":
        return f"Zoë 🎉 北京 {i}.{j}", f"Zoë 🎉 北京 {i}.{j}"
    if kind == "boolean":
        return [(1, True), (0, False), (True, True), ("0", False)][(i + j) % 4]
    if kind == "timestamp":
        moment = T0 + timedelta(days=i, seconds=j)
        if (i + j) % 2:
            return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), moment
        return int(moment.timestamp()), moment
    shaped: Any = {"plan": "gold", "n": i} if i % 2 else [{"key": "k", "value": i}]
    return shaped, shaped


def _records(entity: Entity, n: int) -> tuple[list[dict], dict[int, dict]]:
    records, expected = [], {}
    for i in range(n):
        rid = 2**40 + i
        rec: dict[str, Any] = {"id": rid, "undeclared_field": {"seen": i}}
        want: dict[str, Any] = {}
        for j, f in enumerate(entity.fields):
            rec[f.name], want[f.name] = _value(f.kind, i, j)
        records.append(rec)
        expected[rid] = want
    return records, expected


def _rows(conn: Connection, schema: str, table: str, cols: str = "*") -> dict[int, Any]:
    result = conn.exec_driver_sql(f'SELECT {cols} FROM "{schema}"."{table}" ORDER BY id')
    return {row._mapping["id"]: row._mapping for row in result}


def _tuple_stats(conn: Connection, schema: str, table: str) -> tuple[int, ...]:
    """This backend's not-yet-flushed tuple counters (inserted, updated, deleted) for a table."""
    row = conn.exec_driver_sql(
        "SELECT n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_xact_user_tables"
        " WHERE schemaname = %s AND relname = %s", (schema, table)).one()  # fmt: skip
    return tuple(row)


def _load(conn: Connection, entity: Entity, records: list[dict], schema: str, **kw: Any) -> Any:
    counts = upsert_batch(
        conn,
        entity=entity,
        site_id=SITE,
        batch=normalize(entity, records),
        warehouse=warehouse_of(conn.engine, schema),
        **kw,
    )
    conn.commit()
    return counts


@pytest.mark.parametrize("name", ["customers", "subscriptions", "plans", "invoices", "skus"])
def test_every_declared_column_lands_typed(conn: Connection, schema: str, name: str) -> None:
    entity = get_entity(name)
    records, expected = _records(entity, 6)
    assert _load(conn, entity, records, schema) == UpsertCounts(inserted=6)
    types = dict(conn.exec_driver_sql(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = %s AND table_name = %s", (schema, name)).all())  # fmt: skip
    for f in entity.fields:
        assert types[f.name] == PG_TYPES[f.kind], f.name
    rows = _rows(conn, schema, name)
    assert set(rows) == set(expected)
    for rid, want in expected.items():
        assert rows[rid]["site_id"] == SITE
        assert {k: rows[rid][k] for k in want} == want
        assert rows[rid]["_raw"]["undeclared_field"] == {"seen": rid - 2**40}
        assert rows[rid]["_deleted_at"] is None


def test_raw_is_the_record_as_sent(conn: Connection, schema: str) -> None:
    entity = get_entity("customers")
    records = [{"id": 1, "email": "a@b.c", "has_password": 1, "metadata": [], "extra": [1, None],
                "nested": {"deep": {"x": "ü"}}, "created_at": "2021-06-24 10:33:02"}]  # fmt: skip
    _load(conn, entity, records, schema)
    row = _rows(conn, schema, "customers")[1]
    assert row["_raw"] == records[0]
    assert row["created_at"] == datetime(2021, 6, 24, 10, 33, 2, tzinfo=UTC)
    assert row["has_password"] is True and row["metadata"] == []


def test_sql_looking_values_and_odd_metadata_keys_land_intact(
    conn: Connection, schema: str
) -> None:
    entity = get_entity("customers")
    meta = {"it's": "1", "a.b": "2", "with space": "3", '"quoted"': "4", "x); DROP TABLE y;--": "5"}
    record = {"id": 9, "email": "'; DROP TABLE customers; --", "first_name": 'O"Brien\\n\t',
              "metadata": meta}  # fmt: skip
    _load(conn, entity, [record], schema)
    row = _rows(conn, schema, "customers")[9]
    assert row["email"] == record["email"] and row["first_name"] == record["first_name"]
    assert row["metadata"] == meta and row["_raw"] == record


def test_nul_and_surrogates_are_stored_escaped(conn: Connection, schema: str) -> None:
    entity = get_entity("customers")
    _load(conn, entity, [{"id": 3, "email": "a\x00b", "metadata": {"k": "\ud83d"}}], schema)
    row = _rows(conn, schema, "customers")[3]
    assert row["email"] == "a\\u0000b" and row["metadata"] == {"k": "\\ud83d"}


def test_reload_of_unchanged_rows_writes_nothing(conn: Connection, schema: str) -> None:
    entity = get_entity("subscriptions")
    records, _ = _records(entity, 50)
    _load(conn, entity, records, schema, synced_at=T0)
    before = _rows(conn, schema, "subscriptions", "id, xmin::text AS xmin, _synced_at")
    tuples_before = _tuple_stats(conn, schema, "subscriptions")
    counts = upsert_batch(
        conn,
        entity=entity,
        site_id=SITE,
        batch=normalize(entity, records),
        warehouse=warehouse_of(conn.engine, schema),
        synced_at=T0 + timedelta(hours=1),
    )
    tuples_after = _tuple_stats(conn, schema, "subscriptions")
    conn.commit()
    assert counts == UpsertCounts(unchanged=50)
    assert tuples_after == tuples_before
    assert _rows(conn, schema, "subscriptions", "id, xmin::text AS xmin, _synced_at") == before


def test_changed_record_updates_one_row_and_moves_synced_at(conn: Connection, schema: str) -> None:
    entity = get_entity("customers")
    records, _ = _records(entity, 5)
    _load(conn, entity, records, schema, synced_at=T0)
    records[2] = records[2] | {"email": "new@example.com"}
    later = T0 + timedelta(days=1)
    assert _load(conn, entity, records, schema, synced_at=later) == UpsertCounts(0, 1, 4)
    rows = _rows(conn, schema, "customers")
    assert [r["_synced_at"] for r in rows.values()] == [T0, T0, later, T0, T0]
    assert rows[records[2]["id"]]["email"] == "new@example.com"


def test_key_repeated_in_a_batch_lands_once_last_wins(conn: Connection, schema: str) -> None:
    entity = get_entity("orders")
    records = [{"id": 1, "status": "first"}, {"id": 2, "status": "x"}, {"id": 1, "status": "last"}]
    assert _load(conn, entity, records, schema) == UpsertCounts(inserted=2)
    rows = _rows(conn, schema, "orders")
    assert len(rows) == 2 and rows[1]["status"] == "last"


def test_two_batches_in_one_transaction(conn: Connection, schema: str) -> None:
    entity = get_entity("orders")
    first = upsert_batch(
        conn,
        entity=entity,
        site_id=SITE,
        warehouse=warehouse_of(conn.engine, schema),
        batch=normalize(entity, [{"id": 1}, {"id": 2}]),
    )
    second = upsert_batch(
        conn,
        entity=entity,
        site_id=SITE,
        warehouse=warehouse_of(conn.engine, schema),
        batch=normalize(entity, [{"id": 3}]),
    )
    conn.commit()
    assert (first, second) == (UpsertCounts(inserted=2), UpsertCounts(inserted=1))


def test_failure_after_copy_leaves_table_as_it_was(
    conn: Connection, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    entity = get_entity("orders")
    _load(conn, entity, [{"id": 1, "status": "paid"}], schema)
    before = _rows(conn, schema, "orders", "id, xmin::text AS xmin, status")
    changed = normalize(entity, [{"id": 1, "status": "refunded"}, {"id": 2}])
    monkeypatch.setattr(upsert, "_merge_sql", lambda *a, **k: sql.SQL("SELECT 1/0, 0"))
    with pytest.raises(Exception, match="division by zero"):
        upsert_batch(
            conn,
            entity=entity,
            site_id=SITE,
            batch=changed,
            warehouse=warehouse_of(conn.engine, schema),
        )
    conn.rollback()
    assert _rows(conn, schema, "orders", "id, xmin::text AS xmin, status") == before
    monkeypatch.undo()
    with pytest.raises(RuntimeError):  # the caller fails after a successful upsert
        upsert_batch(
            conn,
            entity=entity,
            site_id=SITE,
            batch=changed,
            warehouse=warehouse_of(conn.engine, schema),
        )
        raise RuntimeError("checkpoint failed")
    conn.rollback()
    assert _rows(conn, schema, "orders", "id, xmin::text AS xmin, status") == before


def test_soft_deleted_row_that_reappears_is_revived(conn: Connection, schema: str) -> None:
    entity = get_entity("charges")
    records = [{"id": 1, "amount": 500}, {"id": 2, "amount": 700}]
    _load(conn, entity, records, schema, synced_at=T0)
    assert (
        mark_deleted(
            conn, entity=entity, site_id=SITE, ids=[1], warehouse=warehouse_of(conn.engine, schema)
        )
        == 1
    )
    conn.commit()
    later = T0 + timedelta(hours=2)
    assert _load(conn, entity, records, schema, synced_at=later) == UpsertCounts(0, 1, 1)
    rows = _rows(conn, schema, "charges")
    assert rows[1]["_deleted_at"] is None and rows[1]["_synced_at"] == later


def test_mark_deleted_marks_only_the_named_live_rows_of_the_site(
    conn: Connection, schema: str
) -> None:
    entity = get_entity("coupons")
    _load(conn, entity, [{"id": i, "code": f"C{i}"} for i in range(1, 8)], schema)
    _load(conn, entity, [{"id": 99}], schema)
    deleted_at = datetime(2024, 5, 1, tzinfo=UTC)
    n = mark_deleted(
        conn,
        entity=get_entity("coupons"),
        site_id=SITE,
        ids=[2, 4, 1000],
        warehouse=warehouse_of(conn.engine, schema),
        deleted_at=deleted_at,
    )
    again = mark_deleted(
        conn, entity=entity, site_id=SITE, ids=[2], warehouse=warehouse_of(conn.engine, schema)
    )
    other_site = mark_deleted(
        conn, entity=entity, site_id=SITE + 1, ids=[1], warehouse=warehouse_of(conn.engine, schema)
    )
    conn.commit()
    assert (n, again, other_site) == (2, 0, 0)
    assert _rows(conn, schema, "coupons")[2]["_deleted_at"] == deleted_at
    live = [i for i, row in _rows(conn, schema, "coupons").items() if row["_deleted_at"] is None]
    assert live == [1, 3, 5, 6, 7, 99]


def test_sites_are_separate_keys(conn: Connection, schema: str) -> None:
    entity = get_entity("plans")
    batch = normalize(entity, [{"id": 1, "nickname": "gold"}])
    for site in (1, 2):
        upsert_batch(
            conn,
            entity=entity,
            site_id=site,
            batch=batch,
            warehouse=warehouse_of(conn.engine, schema),
        )
    conn.commit()
    sites = conn.exec_driver_sql(f'SELECT site_id FROM "{schema}".plans ORDER BY 1').scalars()
    assert list(sites) == [1, 2]


def test_empty_batch_writes_nothing(conn: Connection, schema: str) -> None:
    entity = get_entity("plans")
    assert _load(conn, entity, [{"no": "id"}], schema) == UpsertCounts()


def test_track_seen_records_only_the_rows_left_unchanged(conn: Connection, schema: str) -> None:
    entity = get_entity("orders")
    records = [{"id": i, "status": "paid"} for i in range(1, 6)]

    def load(batch: list[dict[str, Any]]) -> tuple[UpsertCounts, list[int]]:
        counts = upsert_batch(
            conn,
            entity=entity,
            site_id=SITE,
            batch=normalize(entity, batch),
            warehouse=warehouse_of(conn.engine, schema),
            track_seen=True,
        )
        seen = conn.exec_driver_sql(
            f'SELECT id FROM "{schema}"._scan_seen WHERE site_id = {SITE}'
            " AND entity = 'orders' ORDER BY id"
        ).scalars()
        return counts, list(seen)

    assert load(records) == (UpsertCounts(5, 0, 0), [])  # written rows carry a fresh _synced_at
    changed = [*records[:4], {"id": 5, "status": "refunded"}, {"id": 6}]
    assert load(changed) == (UpsertCounts(1, 1, 4), [1, 2, 3, 4])
    assert load(changed) == (UpsertCounts(0, 0, 6), [1, 2, 3, 4, 5, 6])  # repeats are harmless
