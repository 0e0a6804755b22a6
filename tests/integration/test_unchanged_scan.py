"""An unchanged `sync --full` only hashes and compares (`pipeline.unchanged`): it writes no
row, current or history, and still sees every record for delete detection."""

from typing import Any

from sqlalchemy import Engine, text

from pelcro_sync.entities import get_entity
from pelcro_sync.pipeline import unchanged
from pelcro_sync.transform.normalize import normalize
from pelcro_sync.warehouse.upsert import upsert_batch
from tests.fixtures.postgres import warehouse_of
from tests.integration.freshness_helpers import sync, truth
from tests.integration.history_helpers import all_versions, assert_history_matches_current

ENTITY = "customers"


def _physical(engine: Engine, schema: str, site: int) -> dict[int, tuple[Any, ...]]:
    """id -> (xmin, _synced_at, _raw_hash): xmin moves on any write of the row, even one
    that leaves every value as it was."""
    with engine.connect() as conn:
        found = conn.execute(
            text(
                f'SELECT id, xmin::text, _synced_at, _raw_hash FROM "{schema}"."{ENTITY}"'
                " WHERE site_id = :s"
            ),
            {"s": site},
        )
        return {r[0]: tuple(r[1:]) for r in found}


def _seen(engine: Engine, schema: str, site: int) -> set[int]:
    with engine.connect() as conn:
        found = conn.execute(
            text(f'SELECT id FROM "{schema}"._scan_seen WHERE site_id = :s AND entity = :e'),
            {"s": site, "e": ENTITY},
        )
        return {r[0] for r in found}


def test_an_unchanged_full_sync_writes_no_row_and_sees_every_record(
    make_sandbox, pg_engine: Engine, migrated_schema: str
):
    running = make_sandbox(customers=250, sites=1)
    site, schema = running.site_ids[0], migrated_schema
    first = sync(running, pg_engine, schema, ENTITY, full=True)
    before, history = _physical(pg_engine, schema, site), all_versions(pg_engine, schema, ENTITY)
    assert first.inserted == len(before) > 200
    assert all(h is not None for _, _, h in before.values())  # the first load stores them

    again = sync(running, pg_engine, schema, ENTITY, full=True)
    assert (again.inserted, again.updated, again.deleted) == (0, 0, 0)
    assert again.unchanged == len(before) and again.delete_candidates == 0
    assert _physical(pg_engine, schema, site) == before
    assert all_versions(pg_engine, schema, ENTITY) == history
    assert _seen(pg_engine, schema, site) == set(before)


def test_a_changed_record_among_unchanged_ones_is_the_only_one_written(
    make_sandbox, pg_engine: Engine, migrated_schema: str
):
    running = make_sandbox(customers=120, sites=1)
    site, schema = running.site_ids[0], migrated_schema
    sync(running, pg_engine, schema, ENTITY, full=True)
    changed = sorted(truth(running, ENTITY, site))[40]
    before = _physical(pg_engine, schema, site)
    running.sandbox.mutate(updates={ENTITY: {changed: {"first_name": "Renamed"}}})

    result = sync(running, pg_engine, schema, ENTITY, full=True)
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, len(before) - 1)
    after = _physical(pg_engine, schema, site)
    assert {i for i in before if after[i] != before[i]} == {changed}
    assert after[changed][2] != before[changed][2]  # its new hash
    assert_history_matches_current(pg_engine, schema, ENTITY)


def test_rows_without_a_hash_get_one_once_without_a_new_version(
    make_sandbox, pg_engine: Engine, migrated_schema: str
):
    """Rows written before migration 0007 have a null hash: the next scan merges them,
    finds them unchanged and only stores the hash; the one after skips them."""
    running = make_sandbox(customers=80, sites=1)
    site, schema = running.site_ids[0], migrated_schema
    sync(running, pg_engine, schema, ENTITY, full=True)
    hashed = _physical(pg_engine, schema, site)
    with pg_engine.begin() as conn:
        conn.execute(text(f'UPDATE "{schema}"."{ENTITY}" SET _raw_hash = NULL'))
    history = all_versions(pg_engine, schema, ENTITY)

    filled = sync(running, pg_engine, schema, ENTITY, full=True)
    assert (filled.inserted, filled.updated, filled.unchanged) == (0, 0, len(hashed))
    after = _physical(pg_engine, schema, site)
    assert {i: r[1:] for i, r in after.items()} == {i: r[1:] for i, r in hashed.items()}
    assert all_versions(pg_engine, schema, ENTITY) == history

    sync(running, pg_engine, schema, ENTITY, full=True)
    assert _physical(pg_engine, schema, site) == after  # skipped: not even the hash is written


def test_a_deleted_row_whose_record_is_listed_again_unchanged_is_revived(
    make_sandbox, pg_engine: Engine, migrated_schema: str
):
    """Its hash still matches, but the check only vouches for live rows."""
    running = make_sandbox(customers=60, sites=1)
    site, schema = running.site_ids[0], migrated_schema
    sync(running, pg_engine, schema, ENTITY, full=True)
    victim = sorted(truth(running, ENTITY, site))[5]
    with pg_engine.begin() as conn:
        conn.execute(
            text(f'UPDATE "{schema}"."{ENTITY}" SET _deleted_at = now() WHERE id = :i'),
            {"i": victim},
        )
        conn.execute(
            text(f'UPDATE "{schema}"."{ENTITY}_history" SET _valid_to = now() WHERE id = :i'),
            {"i": victim},
        )
    result = sync(running, pg_engine, schema, ENTITY, full=True)
    assert result.updated == 1
    with pg_engine.connect() as conn:
        deleted_at = conn.execute(
            text(f'SELECT _deleted_at FROM "{schema}"."{ENTITY}" WHERE id = :i'), {"i": victim}
        ).scalar_one()
    assert deleted_at is None
    assert_history_matches_current(pg_engine, schema, ENTITY)


def test_a_record_repeated_in_a_batch_counts_by_its_last_copy(
    pg_engine: Engine, migrated_schema: str
):
    """A page boundary that shifted repeats a record: its last copy decides, as in the merge."""
    entity, site = get_entity(ENTITY), 4242
    warehouse = warehouse_of(pg_engine, migrated_schema)
    stored = [{"id": i, "email": f"u{i}@example.com"} for i in (1, 2, 3)]
    with pg_engine.begin() as conn:
        upsert_batch(conn, warehouse=warehouse, entity=entity, site_id=site,
                     batch=normalize(entity, stored))  # fmt: skip
    newer = {"id": 2, "email": "new@example.com"}
    with pg_engine.connect() as conn:
        checker = unchanged.Checker(conn, warehouse, entity, site)
        split = checker.split([stored[0], newer, stored[1], {"id": "x"}, stored[2]])
        # 2's last copy is the stored one: 2 is unchanged, its older copy dropped
        assert sorted(split.unchanged) == [1, 2, 3] and split.changed == [{"id": "x"}]
        split = checker.split([stored[1], newer, stored[0]])
        assert sorted(split.unchanged) == [1] and split.changed == [stored[1], newer]
