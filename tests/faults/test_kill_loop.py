"""`pelcro-sync sync --full` SIGKILLed again and again at random moments (mid-fetch,
mid-COPY, mid-commit): a clean run afterwards converges, deletes included."""

import random
import signal
import subprocess
import time
from pathlib import Path

from sqlalchemy import Engine, text

from tests.faults import tally
from tests.faults.helpers import assert_converged, deleted_ids, fast_client, sync_all, truth
from tests.integration.test_cli import BIN, clean_env

ENTITIES = ("customers", "invoices", "subscriptions")
KILLS = 5


def _start(running, pg_url: str, schema: str) -> subprocess.Popen[bytes]:
    env = clean_env(PELCRO_BASE_URL=running.base_url, PELCRO_API_KEY=running.api_key,
                    DATABASE_URL=pg_url, PELCRO_SCHEMA=schema,
                    PELCRO_SITE_ID=str(running.site_ids[0]))  # fmt: skip
    return subprocess.Popen(
        [str(BIN), "sync", "--full", *ENTITIES],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).parent,  # no .env here
    )


def test_repeated_sigkills_at_random_moments_leave_a_warehouse_a_clean_run_converges(
    make_sandbox, pg_url: str, pg_engine: Engine, schema: str
):
    running = make_sandbox(customers=600, sites=1, latency=0.1)
    site = running.site_ids[0]
    with fast_client(running) as client:
        sync_all(client, engine=pg_engine, schema=schema, sites=[site], entities=ENTITIES)
    ids = sorted(truth(running, "customers", site))
    running.sandbox.mutate(
        updates={"customers": {ids[0]: {"last_name": "O'Kill"}}}, deletes={"customers": ids[-4:]}
    )
    rng = random.Random(20240611)  # seeded: the same moments on every run of the test
    for _ in range(KILLS):
        proc = _start(running, pg_url, schema)
        _wait_until_syncing(pg_engine, schema, proc)
        time.sleep(rng.uniform(0.0, 0.8))  # somewhere in a fetch, a COPY or a commit
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            tally.record(kills=1)
        proc.wait(timeout=10)
    final = _start(running, pg_url, schema)
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err.decode()
    assert deleted_ids(pg_engine, schema, "customers") >= set(ids[-4:])
    assert_converged(pg_engine, schema, running, ENTITIES, [site])
    assert _abandoned_runs(pg_engine, schema) >= 3  # most kills hit a sync in flight


def _wait_until_syncing(engine: Engine, schema: str, proc: subprocess.Popen[bytes]) -> None:
    """Until the process has a run in flight (its start-up, imports included, takes seconds
    on a busy machine: a blind delay would often kill it before it began)."""
    query = text(
        f"SELECT count(*) FROM \"{schema}\"._sync_runs WHERE status = 'running' AND pid = :p"
    )
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(query, {"p": proc.pid}).scalar_one():
                return
        time.sleep(0.02)


def _abandoned_runs(engine: Engine, schema: str) -> int:
    """Runs a kill cut short: the next run records them failed."""
    with engine.connect() as conn:
        query = f"SELECT count(*) FROM \"{schema}\"._sync_runs WHERE status = 'failed'"
        return conn.execute(text(query)).scalar_one()
