"""The fast path: newest first, stopping at the first page with nothing new or changed."""

import contextlib
from datetime import timedelta

from sqlalchemy import Engine

from pelcro_sync.entities import get_entity
from pelcro_sync.warehouse import state
from tests.fixtures.postgres import warehouse_of
from tests.integration.freshness_helpers import live, rows, sync, truth


def test_the_fast_path_picks_up_new_customers_and_invoices_and_changed_bills_in_few_requests(
    make_sandbox, pg_engine: Engine, migrated_schema: str
):
    running = make_sandbox(customers=250, sites=1)
    site = running.site_ids[0]
    for entity in ("customers", "invoices", "bills"):
        sync(running, pg_engine, migrated_schema, entity, full=True)
    bills = sorted(truth(running, "bills", site))
    changed = running.sandbox.mutate(
        creates={"customers": 3, "invoices": 2},
        updates={"bills": {bills[0]: {"description": "re-issued"}}},  # the oldest bill
    )
    results = {
        e: sync(running, pg_engine, migrated_schema, e, mode="fast", concurrency=1)
        for e in ("customers", "invoices", "bills")
    }
    assert {e: r.mode for e, r in results.items()} == dict.fromkeys(results, "fast")
    assert (results["customers"].inserted, results["invoices"].inserted) == (3, 2)
    assert results["bills"].updated == 1
    for entity, result in results.items():
        assert result.requests <= 2, (entity, result.requests)  # changed page + one unchanged
        assert live(pg_engine, migrated_schema, entity, site) == truth(running, entity, site)
    assert set(changed["created"]["customers"]) <= set(
        rows(pg_engine, migrated_schema, "customers", site)
    )


def test_the_fast_path_with_nothing_new_reads_one_page(
    make_sandbox, pg_engine: Engine, migrated_schema: str
):
    running = make_sandbox(customers=250, sites=1)
    sync(running, pg_engine, migrated_schema, "customers", full=True)
    again = sync(running, pg_engine, migrated_schema, "customers", mode="fast")
    assert (again.mode, again.requests, again.written, again.pages) == ("fast", 1, 0, 1)


def test_a_fast_run_leaves_an_unfinished_reconcile_scan_to_resume_where_it_stopped(
    make_sandbox, pg_engine: Engine, migrated_schema: str
):
    running = make_sandbox(customers=350, sites=1)
    site = running.site_ids[0]
    sync(running, pg_engine, migrated_schema, "customers", full=True)

    def stop_after_two(result, page):
        if page.number == 2:
            raise KeyboardInterrupt  # a scan interrupted after committing two pages

    with contextlib.suppress(KeyboardInterrupt):
        sync(running, pg_engine, migrated_schema, "customers", full=True, concurrency=1,
             on_page=stop_after_two)  # fmt: skip
    running.sandbox.mutate(creates={"customers": 1})
    fast = sync(running, pg_engine, migrated_schema, "customers", mode="fast")
    with pg_engine.connect() as conn:
        saved = state.get_state(
            conn,
            warehouse=warehouse_of(conn.engine, migrated_schema),
            site_id=site,
            entity=get_entity("customers"),
        )
    assert fast.inserted == 1
    assert saved is not None and (saved.scan_next_page, saved.scan_sort) == (3, "id")
    resumed = sync(running, pg_engine, migrated_schema, "customers", full=True)
    assert resumed.resumed_from_page == 3 and resumed.deleted == 0
    assert live(pg_engine, migrated_schema, "customers", site) == truth(running, "customers", site)


def test_entities_the_fast_path_cannot_cover_are_skipped_until_stale_then_scanned(
    make_sandbox, pg_engine: Engine, migrated_schema: str
):
    running = make_sandbox(customers=60, sites=1)
    first = sync(running, pg_engine, migrated_schema, "subscriptions", mode="fast")
    fresh = sync(running, pg_engine, migrated_schema, "subscriptions", mode="fast")
    stale = sync(running, pg_engine, migrated_schema, "subscriptions", mode="fast",
                 stale_after=timedelta(0))  # fmt: skip
    assert (first.mode, first.status) == ("full", "succeeded")  # never scanned: scan first
    assert (fresh.status, fresh.requests) == ("skipped", 0)
    assert "not covered by the fast path" in (fresh.note or "")
    assert (stale.mode, stale.status, stale.unchanged) == ("full", "succeeded", first.inserted)
