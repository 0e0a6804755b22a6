"""A first load's direct COPY (`warehouse.first_load`): the same rows as the merge, and the
merge whenever a key is there after all."""

from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from pelcro_sync.entities import ENTITIES, Entity, get_entity
from pelcro_sync.transform.normalize import NormalizedBatch, normalize
from pelcro_sync.warehouse import encode
from pelcro_sync.warehouse.first_load import insert_encoded, site_is_empty
from pelcro_sync.warehouse.upsert import UpsertCounts, mark_deleted, upsert_batch
from pelcro_sync.warehouse.warehouse import Warehouse
from tests.fixtures.postgres import warehouse_of
from tests.integration.freshness_helpers import live, rows, sync, truth
from tests.integration.test_upsert import _records

DIRECT, MERGED = 7001, 7002  # two sites: one loaded each way


def insert_new(
    conn: Connection, *, warehouse: Warehouse, entity: Entity, site_id: int, batch: NormalizedBatch
) -> UpsertCounts | None:
    """What a scan of an empty site does with a batch: encode it for the table, COPY it."""
    encoded = encode.for_table(entity, site_id, batch.frame)
    return insert_encoded(conn, warehouse=warehouse, entity=entity, encoded=encoded)


def _table(conn: Connection, schema: str, name: str, site: int) -> dict[int, dict[str, Any]]:
    """Every column but `_synced_at` and `site_id`, by id."""
    found = conn.execute(text(f'SELECT * FROM "{schema}"."{name}" WHERE site_id = :s'), {"s": site})
    return {
        r["id"]: {k: v for k, v in r.items() if k not in ("_synced_at", "site_id")}
        for r in (row._mapping for row in found)
    }


@pytest.mark.parametrize("name", [e.name for e in ENTITIES])
def test_direct_copy_lands_exactly_what_the_merge_would(
    conn: Connection, schema: str, name: str
) -> None:
    """Every kind of column, awkward values included (numeric, JSON, timestamps, nulls)."""
    entity = get_entity(name)
    records, _ = _records(entity, 40)
    records[3] = {"id": records[3]["id"]}  # every declared field absent: nulls
    for f in entity.fields:
        if f.kind == "numeric":  # more digits than float8-to-numeric keeps
            records[5][f.name], records[6][f.name] = 0.1 + 0.2, 1e-7 / 3
    batch = normalize(entity, records)
    written_at = conn.execute(text("SELECT now()")).scalar_one()  # the transaction's clock
    counts = insert_new(
        conn,
        entity=entity,
        site_id=DIRECT,
        batch=batch,
        warehouse=warehouse_of(conn.engine, schema),
    )
    merged = upsert_batch(
        conn,
        entity=entity,
        site_id=MERGED,
        batch=batch,
        warehouse=warehouse_of(conn.engine, schema),
    )
    conn.commit()
    assert counts == merged == UpsertCounts(inserted=40)
    direct_rows = _table(conn, schema, name, DIRECT)
    assert direct_rows == _table(conn, schema, name, MERGED)
    assert len(direct_rows) == 40 and all(r["_deleted_at"] is None for r in direct_rows.values())
    synced = conn.execute(
        text(f'SELECT DISTINCT _synced_at FROM "{schema}"."{name}" WHERE site_id = :s'),
        {"s": DIRECT},
    ).scalars()
    assert list(synced) == [written_at]  # stamped into every row (`encode.stamped`)
    history = _history(conn, schema, name, DIRECT)
    assert history == _history(conn, schema, name, MERGED) and len(history) == 40
    assert {(v["_valid_from"], v["_valid_to"]) for v in history.values()} == {(written_at, None)}


def _history(conn: Connection, schema: str, name: str, site: int) -> dict[int, dict[str, Any]]:
    """Every version of a site's records by id, `_valid_from` included only if the sites'
    clocks agree (they do in one transaction)."""
    found = conn.execute(
        text(f'SELECT * FROM "{schema}"."{name}_history" WHERE site_id = :s'), {"s": site}
    )
    return {
        r["id"]: {k: v for k, v in r.items() if k != "site_id"}
        for r in (row._mapping for row in found)
    }


def test_a_batch_out_of_id_order_gets_its_first_versions_too(conn: Connection, schema: str) -> None:
    """Its rows are found by their ids rather than by their id range."""
    entity = get_entity("customers")
    records, _ = _records(entity, 30)
    records.reverse()
    counts = insert_new(conn, entity=entity, site_id=DIRECT, batch=normalize(entity, records),
                        warehouse=warehouse_of(conn.engine, schema))  # fmt: skip
    conn.commit()
    assert counts == UpsertCounts(inserted=30)
    history = _history(conn, schema, "customers", DIRECT)
    current = _table(conn, schema, "customers", DIRECT)
    assert sorted(history) == sorted(current) and len(history) == 30
    assert all(history[i]["_raw"] == current[i]["_raw"] for i in current)


def test_a_key_already_there_writes_nothing_and_the_transaction_goes_on(
    conn: Connection, schema: str
) -> None:
    entity = get_entity("customers")
    records, _ = _records(entity, 10)
    upsert_batch(conn, entity=entity, site_id=DIRECT, batch=normalize(entity, records[7:8]),
                 warehouse=warehouse_of(conn.engine, schema))  # fmt: skip
    conn.commit()
    batch = normalize(entity, records)
    assert (
        insert_new(
            conn,
            entity=entity,
            site_id=DIRECT,
            batch=batch,
            warehouse=warehouse_of(conn.engine, schema),
        )
        is None
    )
    assert len(_table(conn, schema, "customers", DIRECT)) == 1  # the COPY was rolled back
    counts = upsert_batch(
        conn,
        entity=entity,
        site_id=DIRECT,
        batch=batch,
        warehouse=warehouse_of(conn.engine, schema),
    )
    conn.commit()
    assert counts == UpsertCounts(inserted=9, updated=0, unchanged=1)
    assert len(_table(conn, schema, "customers", DIRECT)) == 10


def test_a_key_repeated_in_the_batch_lands_once_last_wins(conn: Connection, schema: str) -> None:
    entity = get_entity("customers")
    records, _ = _records(entity, 3)
    again = {**records[0], "email": "second@example.com"}
    counts = insert_new(
        conn,
        entity=entity,
        site_id=DIRECT,
        batch=normalize(entity, [*records, again]),
        warehouse=warehouse_of(conn.engine, schema),
    )
    conn.commit()
    assert counts == UpsertCounts(inserted=3)
    assert _table(conn, schema, "customers", DIRECT)[records[0]["id"]]["email"] == (
        "second@example.com"
    )


def test_site_is_empty_counts_deleted_rows_and_only_its_own_site(
    conn: Connection, schema: str
) -> None:
    entity = get_entity("customers")
    assert site_is_empty(
        conn, entity=entity, site_id=DIRECT, warehouse=warehouse_of(conn.engine, schema)
    )
    records, _ = _records(entity, 2)
    upsert_batch(conn, entity=entity, site_id=DIRECT, batch=normalize(entity, records),
                 warehouse=warehouse_of(conn.engine, schema))  # fmt: skip
    mark_deleted(conn, entity=entity, site_id=DIRECT, ids=[r["id"] for r in records],
                 warehouse=warehouse_of(conn.engine, schema))  # fmt: skip
    conn.commit()
    assert not site_is_empty(
        conn, entity=entity, site_id=DIRECT, warehouse=warehouse_of(conn.engine, schema)
    )
    assert site_is_empty(
        conn, entity=entity, site_id=MERGED, warehouse=warehouse_of(conn.engine, schema)
    )


def test_a_first_load_that_meets_a_row_written_meanwhile_merges_it_and_lands_the_truth(
    make_sandbox, pg_engine: Engine, migrated_schema: str
) -> None:
    """A row written mid-scan (as a webhook would) to a key a later page carries: that
    batch's COPY fails on it, the scan merges from there on, and nothing is lost."""
    running = make_sandbox(customers=400, sites=1)
    site = running.site_ids[0]
    ids = sorted(truth(running, "customers", site))
    late = ids[-1]  # on the last page
    entity = get_entity("customers")

    def write_a_late_row_first(result: Any, page: Any) -> None:
        if page.number == 1:
            with pg_engine.begin() as c:
                upsert_batch(
                    c,
                    entity=entity,
                    site_id=site,
                    warehouse=warehouse_of(c.engine, migrated_schema),
                    batch=normalize(entity, [{"id": late, "email": "old@x"}]),
                )

    result = sync(running, pg_engine, migrated_schema, "customers", full=True, concurrency=1,
                  on_page=write_a_late_row_first)  # fmt: skip
    assert live(pg_engine, migrated_schema, "customers", site) == truth(running, "customers", site)
    assert (result.inserted, result.updated) == (len(ids) - 1, 1)
    assert rows(pg_engine, migrated_schema, "customers", site)[late]["raw"]["email"] != "old@x"
