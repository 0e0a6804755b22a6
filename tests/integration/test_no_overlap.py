"""Two runs of one site and entity never overlap: the second waits (bounded) or stops clearly."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, text

from pelcro_sync.errors import PelcroSyncError
from pelcro_sync.warehouse.locks import SyncInProgressError
from tests.integration.freshness_helpers import live, sync, truth


def _hold_after_first_page(started: threading.Event, release: threading.Event):
    def on_page(result, page):
        if page.number == 1:
            started.set()
            assert release.wait(timeout=20)

    return on_page


def test_a_second_sync_of_the_same_site_and_entity_stops_with_one_clear_line(
    make_sandbox, pg_engine: Engine, migrated_schema: str
):
    running = make_sandbox(customers=250, sites=1)
    site = running.site_ids[0]
    started, release = threading.Event(), threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        hold = _hold_after_first_page(started, release)
        first = pool.submit(sync, running, pg_engine, migrated_schema, "customers", full=True,
                            concurrency=1, on_page=hold)  # fmt: skip
        assert started.wait(timeout=20)
        try:
            with pytest.raises(SyncInProgressError) as caught:
                sync(running, pg_engine, migrated_schema, "customers", mode="fast")
            other = sync(running, pg_engine, migrated_schema, "invoices", full=True)
        finally:
            release.set()
        result = first.result(timeout=30)
    assert isinstance(caught.value, PelcroSyncError)
    assert "customers of site" in str(caught.value) and "\n" not in str(caught.value)
    assert other.status == "succeeded"  # another entity of the same site is not held up
    assert result.status == "succeeded"
    assert live(pg_engine, migrated_schema, "customers", site) == truth(running, "customers", site)
    with pg_engine.connect() as conn:
        runs = (
            conn.execute(
                text(
                    f'SELECT status FROM "{migrated_schema}"._sync_runs'
                    " WHERE entity = 'customers'"
                )
            )
            .scalars()
            .all()
        )
    assert runs == ["succeeded"]  # the refused run recorded nothing


def test_a_second_sync_that_may_wait_runs_after_the_first_and_loses_no_update(
    make_sandbox, pg_engine: Engine, migrated_schema: str
):
    running = make_sandbox(customers=250, sites=1)
    site = running.site_ids[0]
    first_id = min(truth(running, "customers", site))
    started, release = threading.Event(), threading.Event()
    with ThreadPoolExecutor(max_workers=2) as pool:
        hold = _hold_after_first_page(started, release)
        first = pool.submit(sync, running, pg_engine, migrated_schema, "customers", full=True,
                            concurrency=1, on_page=hold)  # fmt: skip
        assert started.wait(timeout=20)
        # Changed after the first run read page 1: only the waiting run can see it.
        running.sandbox.mutate(updates={"customers": {first_id: {"first_name": "Late"}}})
        second = pool.submit(sync, running, pg_engine, migrated_schema, "customers", full=True,
                             lock_wait_s=30)  # fmt: skip
        threading.Timer(0.5, release.set).start()
        results = first.result(timeout=30), second.result(timeout=30)
    assert [r.status for r in results] == ["succeeded", "succeeded"]
    assert results[1].updated == 1
    rows = live(pg_engine, migrated_schema, "customers", site)
    assert rows == truth(running, "customers", site)
    assert rows[first_id]["first_name"] == "Late"
    with pg_engine.connect() as conn:
        spans = conn.execute(
            text(
                f'SELECT started_at, finished_at FROM "{migrated_schema}"._sync_runs'
                " ORDER BY started_at"
            )
        ).all()
    assert spans[0].finished_at <= spans[1].started_at  # one after the other, never together
