"""History over real HTTP: each change the sandbox makes becomes exactly one new version,
closed and opened at the observation time, and the current table equals the open versions."""

import time

import pytest
from sqlalchemy import Engine, text

from pelcro_sync.entities import ENTITIES
from pelcro_sync.pipeline.reconcile import NO_GET_BY_ID
from tests.integration.freshness_helpers import sync, truth
from tests.integration.history_helpers import (
    Version,
    all_versions,
    assert_history_matches_current,
    current_row,
    versions,
)


def test_plan_quantity_cancel_and_delete_each_write_exactly_the_versions_they_should(
    make_sandbox, pg_engine: Engine, migrated_schema: str
):
    running = make_sandbox(customers=60, sites=1)
    site, schema = running.site_ids[0], migrated_schema
    sync(running, pg_engine, schema, "subscriptions", full=True)
    subs = truth(running, "subscriptions", site)
    ids = sorted(i for i, s in subs.items() if s["status"] == "active")
    upgraded, seats, canceled, deleted, untouched = ids[:5]
    first = {i: current_row(pg_engine, schema, "subscriptions", site, i) for i in ids[:5]}
    for i in ids[:5]:  # the first load: one open version from the scan's observation
        assert versions(pg_engine, schema, "subscriptions", site, i) == [
            Version(first[i]["synced_at"], None, first[i]["raw"])
        ]
    other_plan = next(p for p in truth(running, "plans", site) if p != subs[upgraded]["plan"])
    running.sandbox.mutate(
        updates={"subscriptions": {
            upgraded: {"plan": other_plan},
            seats: {"quantity": subs[seats]["quantity"] + 3},
            canceled: {"status": "canceled", "canceled_at": int(time.time())},
        }},
        deletes={"subscriptions": [deleted]},
    )  # fmt: skip
    second = sync(running, pg_engine, schema, "subscriptions", full=True)
    assert (second.updated, second.deleted) == (3, 1)

    now = truth(running, "subscriptions", site)
    for i in (upgraded, seats, canceled):
        after = current_row(pg_engine, schema, "subscriptions", site, i)
        assert after["raw"] == now[i] and after["synced_at"] > first[i]["synced_at"]
        assert versions(pg_engine, schema, "subscriptions", site, i) == [
            Version(first[i]["synced_at"], after["synced_at"], first[i]["raw"]),
            Version(after["synced_at"], None, now[i]),
        ]
    gone = current_row(pg_engine, schema, "subscriptions", site, deleted)
    assert gone["deleted_at"] is not None
    assert versions(pg_engine, schema, "subscriptions", site, deleted) == [
        Version(first[deleted]["synced_at"], gone["deleted_at"], first[deleted]["raw"])
    ]
    assert versions(pg_engine, schema, "subscriptions", site, untouched) == [
        Version(first[untouched]["synced_at"], None, first[untouched]["raw"])
    ]
    assert_history_matches_current(pg_engine, schema, "subscriptions")
    with pg_engine.connect() as conn:
        changes = conn.execute(
            text(
                "SELECT from_status, to_status, changed_at, plan_id, quantity FROM"
                f' "{schema}".subscription_status_changes WHERE subscription_id = :i'
                " ORDER BY changed_at"
            ),
            {"i": canceled},
        ).all()
    later = current_row(pg_engine, schema, "subscriptions", site, canceled)["synced_at"]
    assert [tuple(c) for c in changes] == [
        (None, "active", first[canceled]["synced_at"], subs[canceled]["plan"],
         subs[canceled]["quantity"]),
        ("active", "canceled", later, subs[canceled]["plan"], subs[canceled]["quantity"]),
    ]  # fmt: skip


def test_two_unchanged_full_syncs_of_every_entity_add_no_history_row(
    make_sandbox, pg_engine: Engine, migrated_schema: str
):
    running = make_sandbox(customers=30, sites=1)
    site = running.site_ids[0]
    for entity in ENTITIES:
        sync(running, pg_engine, migrated_schema, entity.name, full=True)
        assert_history_matches_current(pg_engine, migrated_schema, entity.name)
    before = {e.name: all_versions(pg_engine, migrated_schema, e.name) for e in ENTITIES}
    for _ in range(2):
        for entity in ENTITIES:
            result = sync(running, pg_engine, migrated_schema, entity.name, full=True)
            assert result.inserted == result.updated == result.deleted == 0, entity.name
    for entity in ENTITIES:
        after = all_versions(pg_engine, migrated_schema, entity.name)
        assert after == before[entity.name], entity.name
        assert len(after) == len(truth(running, entity.name, site)) > 0, entity.name


@pytest.mark.parametrize(
    ("entity", "scans_to_mark"),
    [("organizations", 1), ("refunds", 2)],
    ids=["page-re-read-same-scan", "second-scan-fallback"],
)
def test_a_record_deleted_then_seen_again_opens_a_new_version_after_the_closed_one(
    make_sandbox, pg_engine: Engine, migrated_schema: str, entity: str, scans_to_mark: int
):
    """Entities without GET by id: organizations are confirmed by re-reading their page in
    id order (marked in the scan that missed them), refunds (no id order) on the second
    miss, in SQL. Either way the open version closes then, and a row that is back live
    opens a version and leaves the closed one as it was."""
    assert entity in NO_GET_BY_ID
    running = make_sandbox(customers=60, sites=1)
    site, schema = running.site_ids[0], migrated_schema
    sync(running, pg_engine, schema, entity, full=True)
    victim = sorted(truth(running, entity, site))[3]
    running.sandbox.mutate(deletes={entity: [victim]})
    for _ in range(scans_to_mark - 1):
        sync(running, pg_engine, schema, entity, full=True)  # a miss: a candidate only
        assert versions(pg_engine, schema, entity, site, victim)[-1].valid_to is None
    sync(running, pg_engine, schema, entity, full=True)  # confirmed and marked
    gone = current_row(pg_engine, schema, entity, site, victim)
    [closed] = versions(pg_engine, schema, entity, site, victim)
    assert gone["deleted_at"] is not None and closed.valid_to == gone["deleted_at"]
    assert_history_matches_current(pg_engine, schema, entity)

    _restore(running, entity, victim)  # listed again upstream, unchanged
    sync(running, pg_engine, schema, entity, full=True)
    back = current_row(pg_engine, schema, entity, site, victim)
    assert back["deleted_at"] is None
    assert versions(pg_engine, schema, entity, site, victim) == [
        closed,
        Version(back["synced_at"], None, back["raw"]),
    ]
    assert_history_matches_current(pg_engine, schema, entity)


def _restore(running, entity: str, record_id: int) -> None:
    """Undo the sandbox's soft delete of one record (it has no API for that)."""
    data = next(iter(running.sandbox.datasets.values()))
    with data.lock:
        data.deleted[entity].discard(data.layout.index_of(entity, record_id))
        data._deleted_positions.clear()
        data.version += 1
