"""A `pelcro-sync sync --full` killed with SIGKILL mid-scan resumes where its last commit left."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, text

from pelcro_sync.entities import get_entity
from pelcro_sync.warehouse import state
from tests.fixtures.postgres import warehouse_of
from tests.integration.freshness_helpers import live, sync, truth

BIN = Path(sys.executable).with_name("pelcro-sync")
PAGE = 100


def _cli_env(running, pg_url: str, schema: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PELCRO_", "DATABASE_URL"))}
    return {**keep, "PELCRO_BASE_URL": running.base_url, "PELCRO_API_KEY": running.api_key,
            "DATABASE_URL": pg_url, "PELCRO_SCHEMA": schema,
            "PELCRO_SITE_ID": str(running.site_ids[0])}  # fmt: skip


def _next_page(engine: Engine, schema: str, site: int) -> int:
    with engine.connect() as conn:
        saved = state.get_state(
            conn,
            warehouse=warehouse_of(conn.engine, schema),
            site_id=site,
            entity=get_entity("customers"),
        )
    return (saved.scan_next_page or 0) if saved else 0


def test_a_scan_killed_halfway_resumes_needing_only_the_remaining_pages(
    make_sandbox, pg_url: str, pg_engine: Engine, migrated_schema: str
):
    running = make_sandbox(customers=2000, sites=1, latency=0.4)
    site = running.site_ids[0]
    pages = -(-len(truth(running, "customers", site)) // PAGE)
    proc = subprocess.Popen(
        [str(BIN), "sync", "--full", "customers"],
        env=_cli_env(running, pg_url, migrated_schema),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).parent,
    )
    try:
        deadline = time.monotonic() + 60
        while _next_page(pg_engine, migrated_schema, site) - 1 < pages // 2:
            assert proc.poll() is None and time.monotonic() < deadline, "scan ended too soon"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    committed = _next_page(pg_engine, migrated_schema, site) - 1
    assert pages // 2 <= committed < pages
    with pg_engine.connect() as conn:
        # What the scan saw: the rows it wrote (synced since it started) and the ids of rows
        # it left unchanged (none, on a first load).
        seen = (
            conn.execute(
                text(
                    f'SELECT count(*) FROM "{migrated_schema}".customers t, "{migrated_schema}"'
                    "._sync_state s WHERE t.site_id = :s AND s.site_id = :s"
                    " AND s.entity = 'customers' AND t._synced_at >= s.scan_started_at"
                    f' UNION ALL SELECT count(*) FROM "{migrated_schema}"._scan_seen'
                    " WHERE site_id = :s"
                ),
                {"s": site},
            )
            .scalars()
            .all()
        )
    assert seen == [committed * PAGE, 0]  # committed with their pages, no more

    resumed = sync(running, pg_engine, migrated_schema, "customers", full=True)
    remaining = pages - committed
    assert resumed.resumed_from_page == committed + 1
    assert resumed.pages == remaining
    assert resumed.requests <= remaining + 2, (resumed.requests, remaining)
    assert (resumed.deleted, resumed.delete_candidates) == (0, 0)
    assert live(pg_engine, migrated_schema, "customers", site) == truth(running, "customers", site)
    with pg_engine.connect() as conn:
        statuses = (
            conn.execute(
                text(f'SELECT status FROM "{migrated_schema}"._sync_runs ORDER BY started_at')
            )
            .scalars()
            .all()
        )
    assert statuses == ["failed", "succeeded"]  # the killed run is recorded as abandoned
