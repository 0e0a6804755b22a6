"""The Postgres request budget: GCRA in one SQL statement, shared by processes that share no
machine-level state (each has its own TMPDIR, so no FileBudget can coordinate them)."""

import itertools
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine

from pelcro_sandbox import ratelimit as sandbox_ratelimit
from pelcro_sync.api import budget_pg
from pelcro_sync.config import Settings
from pelcro_sync.errors import ConfigError
from pelcro_sync.warehouse import budget as budget_schema
from pelcro_sync.warehouse import migrate
from tests.fixtures.postgres import _libpq
from tests.integration.test_cli import BIN, clean_env

WINDOW = 5.0  # the sandbox's rolling window, shrunk from 60 s: the same arithmetic, sooner
PER_WINDOW = 20  # 240 requests per minute


class Stop(Exception):
    """Raised by the recording sleep: a test wants the wait, not to spend it."""


def recording_sleep(waits: list[float], *, stop: bool = False):
    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if stop:
            raise Stop

    return sleep


def budget(pg_url: str, key: str, waits: list[float], **kwargs) -> budget_pg.PostgresBudget:
    return budget_pg.PostgresBudget(
        pg_url, account_key=key, per_minute=600, margin=0, sleep=recording_sleep(waits, **kwargs)
    )


def test_two_budgets_on_one_key_interleave_their_slots(pg_url: str) -> None:
    """Each acquire reserves the next slot, whichever budget object asks: waits step by the
    interval (0.1 s at 600/min) across both, as if one pacer served them."""
    key = uuid.uuid4().hex
    waits_a: list[float] = []
    waits_b: list[float] = []
    a, b = budget(pg_url, key, waits_a), budget(pg_url, key, waits_b)
    order = [a, b, a, b, b, a]
    started = time.monotonic()
    for each in order:
        each.acquire()
    elapsed = time.monotonic() - started
    # Nothing really slept, so the n-th request waits n intervals from the first, less the
    # time the calls themselves took (at most `elapsed` in all, however busy the machine).
    waited = [0.0, *sorted(waits_a + waits_b)]
    assert len(waited) == len(order)
    steps = [later - earlier for earlier, later in itertools.pairwise(waited)]
    assert all(0.1 - elapsed - 0.005 < step < 0.105 for step in steps), (waited, elapsed)
    assert waited[-1] > 0.5 - elapsed - 0.005
    a.close()
    b.close()


def test_penalize_pauses_every_budget_of_the_account(pg_url: str) -> None:
    key = uuid.uuid4().hex
    other_key = uuid.uuid4().hex
    a = budget(pg_url, key, [])
    waits: list[float] = []
    b = budget(pg_url, key, waits, stop=True)
    unrelated = budget(pg_url, other_key, [], stop=True)
    a.acquire()
    a.penalize(30)
    with pytest.raises(Stop):
        b.acquire()
    assert 29 < waits[0] <= 30.2
    assert unrelated.acquire() == 0  # another account is not paused
    for each in (a, b, unrelated):
        each.close()


def test_the_table_holds_a_fingerprint_never_the_credential(pg_url: str) -> None:
    settings = Settings(
        base_url="http://pelcro.test/api", budget_url="warehouse", database_url=pg_url
    )
    secret = f"sk_{uuid.uuid4().hex}"
    pacer = budget_pg.configured_budget(settings, credential=secret, per_minute=120)
    assert isinstance(pacer, budget_pg.PostgresBudget)
    pacer.acquire()
    assert pacer.recorded_rate() == 120
    with psycopg.connect(_libpq(pg_url)) as conn:
        rows = conn.execute(f"SELECT b::text FROM {budget_schema.SCHEMA}.budget b").fetchall()
    assert any(pacer.account_key in row[0] for row in rows)
    assert not any(secret in row[0] for row in rows)


def test_budget_url_warehouse_needs_database_url() -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        budget_pg.budget_url(Settings(budget_url="warehouse"))
    assert budget_pg.budget_url(Settings()) is None


def test_the_budget_schema_does_not_disturb_alembic_check(pg_url: str, migrated_schema: str):
    budget(pg_url, uuid.uuid4().hex, []).acquire()  # makes the pelcro_budget schema
    migrate.check(pg_url, schema=migrated_schema)  # raises on drift


@pytest.fixture
def short_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox_ratelimit, "WINDOW", WINDOW)


def test_processes_with_nothing_shared_but_postgres_stay_under_the_limit_and_use_it(
    short_window, make_sandbox, pg_url: str, pg_engine: Engine, tmp_path: Path
):
    """Three `pelcro-sync sync` processes, one site each, each with its own TMPDIR (as on
    three hosts): the sandbox sees no window over the limit, no 429, and ≥ 90% use."""
    running = make_sandbox(customers=1500, sites=3, rate_limit=PER_WINDOW, latency=0.05)
    schema = f"pgbudget_{uuid.uuid4().hex[:8]}"
    env = clean_env(
        PELCRO_BASE_URL=running.base_url,
        PELCRO_API_KEY=running.api_key,
        DATABASE_URL=pg_url,
        PELCRO_SCHEMA=schema,
        PELCRO_RATE_LIMIT=str(int(PER_WINDOW * 60 / WINDOW)),
        PELCRO_BUDGET_URL="warehouse",
    )
    assert subprocess.run([str(BIN), "migrate"], env=env, capture_output=True).returncode == 0
    running.sandbox.reset_stats()
    tmpdirs = [tmp_path / f"host{i}" for i in range(len(running.site_ids))]
    procs = []
    for site, tmpdir in zip(running.site_ids, tmpdirs, strict=True):
        tmpdir.mkdir()
        procs.append(
            subprocess.Popen(
                [str(BIN), "sync", "customers", "invoices", "--site", str(site)],
                env={**env, "TMPDIR": str(tmpdir)},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0] * len(procs), outputs
    stats = running.sandbox.stats
    served = sorted(stats.served)
    busy = served[-1] - served[0]
    share = (len(served) - 1) / (busy * PER_WINDOW / WINDOW)
    print(f"\n{len(procs)} processes: {len(served)} requests in {busy:.1f} s, "
          f"budget share {share:.1%}, max in window {stats.max_in_window(WINDOW)}/{PER_WINDOW}, "
          f"429s {stats.throttled}")  # fmt: skip
    assert stats.throttled == 0
    assert stats.max_in_window(WINDOW) <= PER_WINDOW
    assert len(served) > 40 and share >= 0.90, (len(served), busy, share)
    # Nothing went through a budget file: Postgres alone coordinated them.
    assert not [f for d in tmpdirs for f in d.iterdir() if f.name.startswith("pelcro-sync-budget")]
    key = budget_pg.account_key(base_url=running.base_url, credential=running.api_key)
    with psycopg.connect(_libpq(pg_url)) as conn:
        row = conn.execute(
            f"SELECT per_minute FROM {budget_schema.SCHEMA}.budget WHERE account_key = %s", (key,)
        ).fetchone()
    assert row is not None and row[0] == PER_WINDOW * 60 / WINDOW
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
