"""`pelcro-sync plan` against the sandbox: its prediction holds for the `sync --full` after it."""

import json
import uuid

import pytest
from sqlalchemy import Engine

from tests.integration.test_cli import run


@pytest.fixture
def env_for(pg_url: str, pg_engine: Engine):
    schemas: list[str] = []

    def make(running, **extra: str) -> dict[str, str]:
        schemas.append(f"plan_{uuid.uuid4().hex[:8]}")
        return {"PELCRO_BASE_URL": running.base_url, "PELCRO_API_KEY": running.api_key,
                "DATABASE_URL": pg_url, "PELCRO_SCHEMA": schemas[-1], **extra}  # fmt: skip

    yield make
    with pg_engine.begin() as conn:
        for schema in schemas:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_plan_predicts_the_requests_of_the_full_sync_within_ten_percent(make_sandbox, env_for):
    running = make_sandbox(customers=1_000)
    env = env_for(running)
    planned = run("plan", "--json", env=env)
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)
    sites, n_entities = len(running.site_ids), 18
    # what the plan cost, as the server counted it, and within what it promises
    assert running.sandbox.stats.requests == plan["probe_requests"]
    assert plan["probe_requests"] <= plan["probe_budget"] == 2 + n_entities * sites
    assert len(plan["entities"]) == n_entities * sites
    for e in plan["entities"]:
        assert e["records"] == running.sandbox.dataset.count(e["entity"], e["site_id"])

    running.sandbox.reset_stats()
    synced = run("sync", "--full", env=env)
    assert synced.returncode == 0, synced.stderr
    used = running.sandbox.stats.requests
    predicted = plan["full_reconcile_requests"]
    print(f"plan predicted {predicted} requests; sync --full used {used}")
    assert abs(used - predicted) <= 0.1 * used, (used, predicted)


def test_plan_warns_when_the_reconcile_cannot_finish_in_its_window_and_proposes_slices(
    make_sandbox, env_for
):
    running = make_sandbox(customers=1_000, rate_limit=900)  # ~150 requests: ~10 s at 873/min
    env = env_for(running, PELCRO_RECONCILE_WINDOW="5s", PELCRO_FAST_CRON="0 * * * *")
    result = run("plan", env=env)
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "warning: a full reconcile" in out and "cannot finish inside its window of 5s" in out
    assert "proposal: run `pelcro-sync sync --full --time-limit" in out
    assert "fast path `0 * * * *` (24 runs/day" in out
    assert "rate limit: 900 requests/minute" in out
    assert f"at most 2 + 18 entities × {len(running.site_ids)} sites" in out
    assert running.sandbox.stats.throttled == 0


def test_plan_refuses_a_malformed_window_in_one_line(sandbox, env_for):
    result = run("plan", env=env_for(sandbox, PELCRO_RECONCILE_WINDOW="soon"))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "PELCRO_RECONCILE_WINDOW must be a duration such as 90m or 6h" in result.stderr
