"""Reconcile scans: every page read, deletes confirmed before `_deleted_at`, a safety valve."""

import pytest
from sqlalchemy import Engine

from pelcro_sync.entities import ENTITIES
from pelcro_sync.pipeline.reconcile import NO_GET_BY_ID, DeletePolicy, DeleteSafetyError
from tests.integration.freshness_helpers import live, rows, sync, truth


def test_one_reconcile_scan_brings_every_table_to_the_sandbox_truth(
    make_sandbox, pg_engine: Engine, migrated_schema: str
):
    """Updates, creates and soft/hard deletes all land; untouched rows keep `_synced_at`;
    entities without a GET by id need a second scan to confirm their deletes."""
    running = make_sandbox(customers=60, sites=1)
    site = running.site_ids[0]
    for entity in ENTITIES:
        sync(running, pg_engine, migrated_schema, entity.name, full=True)
    before = {e.name: rows(pg_engine, migrated_schema, e.name, site) for e in ENTITIES}
    customers = sorted(truth(running, "customers", site))
    newsletters = sorted(truth(running, "newsletters", site))
    changed = running.sandbox.mutate(
        updates={"customers": {customers[5]: {"first_name": "Renamed"}}},
        creates={"customers": 2, "invoices": 1},
        deletes={"customers": customers[10:13], "newsletters": newsletters[:1]},
    )
    results = {
        e.name: sync(running, pg_engine, migrated_schema, e.name, full=True) for e in ENTITIES
    }
    for entity in ENTITIES:
        if entity.name in NO_GET_BY_ID:
            sync(running, pg_engine, migrated_schema, entity.name, full=True)  # second pass
        after = rows(pg_engine, migrated_schema, entity.name, site)
        assert live(pg_engine, migrated_schema, entity.name, site) == truth(
            running, entity.name, site
        ), entity.name
        for gone in changed["deleted"].get(entity.name, []):
            assert after[gone]["deleted_at"] is not None, (entity.name, gone)
        touched = set(changed["updated"].get(entity.name, [])) | set(
            changed["deleted"].get(entity.name, [])
        )
        for record_id, old in before[entity.name].items():
            if record_id not in touched:
                assert after[record_id]["synced_at"] == old["synced_at"], (entity.name, record_id)
    assert results["customers"].deleted == 3 == results["customers"].confirm_gets
    assert results["customers"].updated == 1 and results["customers"].inserted == 2
    assert results["newsletters"].deleted == 1


def test_records_shifted_by_deletes_mid_scan_are_kept_and_the_deletes_marked_in_the_same_run(
    make_sandbox, pg_engine: Engine, migrated_schema: str
):
    """Five records deleted on page 1 after it was read shift five live ones back onto it:
    the GETs keep those five, and re-reading page 1 (where they now sit) finds the five
    deleted ones gone, in the same run, though the scan had seen them."""
    running = make_sandbox(customers=250, sites=1)
    site = running.site_ids[0]
    sync(running, pg_engine, migrated_schema, "customers", full=True)
    ids = sorted(truth(running, "customers", site))
    doomed = ids[20:25]  # on page 1: deleting them shifts pages 2 and 3 back by five

    def delete_after_page_one(result, page):
        if page.number == 1:
            running.sandbox.mutate(deletes={"customers": doomed})

    shifted = sync(running, pg_engine, migrated_schema, "customers", full=True, concurrency=1,
                   on_page=delete_after_page_one)  # fmt: skip
    marked = {i for i, r in rows(pg_engine, migrated_schema, "customers", site).items()
              if r["deleted_at"]}  # fmt: skip
    assert shifted.delete_candidates == 5  # the five records that slid onto page 1
    assert shifted.delete_check == "GET by id"
    assert 5 < shifted.confirm_gets <= 5 + 2  # five GETs, then page 1 (and its neighbour)
    assert marked == set(doomed)  # none of the skipped (live) records
    assert live(pg_engine, migrated_schema, "customers", site) == truth(running, "customers", site)
    second = sync(running, pg_engine, migrated_schema, "customers", full=True)
    assert second.deleted == 0 and second.delete_candidates == 0


def test_the_safety_valve_stops_a_mass_delete_and_the_override_lets_it_through(
    make_sandbox, pg_engine: Engine, migrated_schema: str
):
    running = make_sandbox(customers=60, sites=1)
    site = running.site_ids[0]
    sync(running, pg_engine, migrated_schema, "customers", full=True)
    ids = sorted(truth(running, "customers", site))
    running.sandbox.mutate(deletes={"customers": ids[::2]})  # half of them
    with pytest.raises(DeleteSafetyError, match="30 of 60 live rows"):
        sync(running, pg_engine, migrated_schema, "customers", full=True)
    assert len(live(pg_engine, migrated_schema, "customers", site)) == 60
    allowed = sync(running, pg_engine, migrated_schema, "customers", full=True,
                   delete_policy=DeletePolicy(max_share=1.0))  # fmt: skip
    assert allowed.deleted == 30
    assert live(pg_engine, migrated_schema, "customers", site) == truth(running, "customers", site)


def test_confirmation_gets_are_capped_and_the_rest_wait_for_the_next_scan(
    make_sandbox, pg_engine: Engine, migrated_schema: str
):
    running = make_sandbox(customers=60, sites=1)
    site = running.site_ids[0]
    sync(running, pg_engine, migrated_schema, "customers", full=True)
    running.sandbox.mutate(deletes={"customers": sorted(truth(running, "customers", site))[:5]})
    policy = DeletePolicy(max_share=1.0, max_confirm_gets=3)
    first = sync(running, pg_engine, migrated_schema, "customers", full=True, delete_policy=policy)
    second = sync(running, pg_engine, migrated_schema, "customers", full=True, delete_policy=policy)
    assert (first.confirm_gets, first.deleted) == (3, 3)
    assert (second.confirm_gets, second.deleted) == (2, 2)
    assert live(pg_engine, migrated_schema, "customers", site) == truth(running, "customers", site)
