"""A `sync --full` killed mid-scan and resumed: each change gets exactly one version, the
killed run's committed versions stay as they were, and history equals the current table."""

import signal
import subprocess
import time
from pathlib import Path

from sqlalchemy import Engine

from tests.integration.freshness_helpers import sync, truth
from tests.integration.history_helpers import (
    Version,
    all_versions,
    assert_history_matches_current,
    current_row,
    versions,
)
from tests.integration.test_resume_kill import BIN, PAGE, _cli_env, _next_page


def test_a_killed_then_resumed_scan_versions_each_change_once(
    make_sandbox, pg_url: str, pg_engine: Engine, migrated_schema: str
):
    running = make_sandbox(customers=1500, sites=1, latency=0.3)
    site, schema = running.site_ids[0], migrated_schema
    sync(running, pg_engine, schema, "customers", full=True)
    ids = sorted(truth(running, "customers", site))
    pages = -(-len(ids) // PAGE)
    early, late = ids[3], ids[-3]  # on the first page and on the last
    first = {i: current_row(pg_engine, schema, "customers", site, i) for i in (early, late)}
    running.sandbox.mutate(updates={"customers": {early: {"first_name": "Early"},
                                                  late: {"first_name": "Late"}}})  # fmt: skip
    proc = subprocess.Popen([str(BIN), "sync", "--full", "customers"],
                            env=_cli_env(running, pg_url, schema), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=Path(__file__).parent)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while _next_page(pg_engine, schema, site) - 1 < pages // 2:
            assert proc.poll() is None and time.monotonic() < deadline, "scan ended too soon"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _next_page(pg_engine, schema, site) - 1 < pages  # killed before the end
    killed = current_row(pg_engine, schema, "customers", site, early)
    assert killed["raw"]["first_name"] == "Early"  # committed by the killed run
    early_versions = [
        Version(first[early]["synced_at"], killed["synced_at"], first[early]["raw"]),
        Version(killed["synced_at"], None, killed["raw"]),
    ]
    assert versions(pg_engine, schema, "customers", site, early) == early_versions
    assert versions(pg_engine, schema, "customers", site, late) == [
        Version(first[late]["synced_at"], None, first[late]["raw"])
    ]
    assert_history_matches_current(pg_engine, schema, "customers")
    before = all_versions(pg_engine, schema, "customers")

    resumed = sync(running, pg_engine, schema, "customers", full=True)
    assert resumed.resumed_from_page is not None and resumed.updated == 1
    after = current_row(pg_engine, schema, "customers", site, late)
    assert versions(pg_engine, schema, "customers", site, late) == [
        Version(first[late]["synced_at"], after["synced_at"], first[late]["raw"]),
        Version(after["synced_at"], None, after["raw"]),
    ]
    assert versions(pg_engine, schema, "customers", site, early) == early_versions
    rest = [v for v in all_versions(pg_engine, schema, "customers") if v[1] != late]
    assert rest == [v for v in before if v[1] != late]  # nothing else written or rewritten
    assert_history_matches_current(pg_engine, schema, "customers")
    again = sync(running, pg_engine, schema, "customers", full=True)
    assert again.updated == again.inserted == 0
    assert len(all_versions(pg_engine, schema, "customers")) == len(ids) + 2
