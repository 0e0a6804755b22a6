"""Separate OS processes syncing one account share its one request budget."""

import subprocess
import uuid

import pytest
from sqlalchemy import Engine

from pelcro_sandbox import ratelimit as sandbox_ratelimit
from tests.integration.test_cli import BIN, clean_env

WINDOW = 5.0  # the sandbox's rolling window, shrunk from 60 s: the same arithmetic, sooner
PER_WINDOW = 20  # 240 requests per minute


@pytest.fixture
def short_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_ratelimit, "WINDOW", WINDOW)


def test_two_sync_processes_never_exceed_the_limit_and_use_the_budget(
    short_window, make_sandbox, pg_url: str, pg_engine: Engine
):
    running = make_sandbox(customers=1500, rate_limit=PER_WINDOW, latency=0.05)
    schema = f"budget_{uuid.uuid4().hex[:8]}"
    env = clean_env(
        PELCRO_BASE_URL=running.base_url,
        PELCRO_API_KEY=running.api_key,
        DATABASE_URL=pg_url,
        PELCRO_SCHEMA=schema,
        PELCRO_RATE_LIMIT=str(int(PER_WINDOW * 60 / WINDOW)),
    )
    # Migrate first so both processes spend their time on the API, not on racing DDL.
    assert subprocess.run([str(BIN), "migrate"], env=env, capture_output=True).returncode == 0
    running.sandbox.reset_stats()
    procs = [
        subprocess.Popen(
            [str(BIN), "sync", "customers", "invoices", "--site", str(site)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for site in running.site_ids
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    stats = running.sandbox.stats
    assert stats.throttled == 0
    assert stats.max_in_window(WINDOW) <= PER_WINDOW
    served = sorted(stats.served)
    busy = served[-1] - served[0]
    share = (len(served) - 1) / (busy * PER_WINDOW / WINDOW)
    assert len(served) > 40 and share >= 0.85, (len(served), busy, share)
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
