"""The create-plus-delete trap: meta.total unchanged, a live record shifted onto a page
already read. The deleted record is tombstoned in the same run, the shifted one never."""

import pytest
from sqlalchemy import Engine

from pelcro_sync.pipeline.reconcile import GET_BY_ID, PAGE_REREAD
from tests.integration.freshness_helpers import live, rows, sync, truth


@pytest.mark.parametrize(
    ("entity", "check"),
    [("customers", GET_BY_ID), ("organizations", PAGE_REREAD)],
    ids=["get-by-id", "no-get-by-id"],
)
def test_a_delete_and_a_create_between_pages_come_out_right_in_the_same_run(
    make_sandbox, pg_engine: Engine, migrated_schema: str, entity: str, check: str
):
    running = make_sandbox(customers=500, sites=1)  # 220 organizations
    site = running.site_ids[0]
    sync(running, pg_engine, migrated_schema, entity, full=True)
    ids = sorted(truth(running, entity, site))
    assert len(ids) > 200  # three pages at least
    doomed, shifted = ids[50], ids[100]  # page 1; the first record of page 2
    totals = []

    def trap(result, page):
        totals.append(page.total)
        if page.number == 1:
            running.sandbox.mutate(deletes={entity: [doomed]}, creates={entity: 1})

    result = sync(running, pg_engine, migrated_schema, entity, full=True, concurrency=1,
                  on_page=trap)  # fmt: skip
    assert len(set(totals)) == 1  # a count check could not see it
    after = rows(pg_engine, migrated_schema, entity, site)
    assert result.delete_check == check
    assert result.delete_candidates == 1  # the shifted record: never listed this scan
    assert after[doomed]["deleted_at"] is not None  # tombstoned by the end of this run
    assert after[shifted]["deleted_at"] is None
    assert {i for i, r in after.items() if r["deleted_at"]} == {doomed}
    assert live(pg_engine, migrated_schema, entity, site) == truth(running, entity, site)
    again = sync(running, pg_engine, migrated_schema, entity, full=True)
    assert (again.delete_candidates, again.deleted) == (0, 0)
