"""`pelcro-sync marts` end to end: a real process builds the marts after a sandbox sync."""

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.integration.test_cli import BIN, clean_env

MODELS = ("mrr_monthly", "mrr_movements", "mrr_movements_summary", "churn_monthly",
          "revenue_daily", "customer_360")  # fmt: skip


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), *args], env=clean_env(**env), capture_output=True, text=True, timeout=600,
        cwd=Path(__file__).parent,
    )  # fmt: skip


@pytest.fixture
def env(sandbox, pg_url: str, pg_engine: Engine) -> Iterator[dict[str, str]]:
    schema = f"mc_{uuid.uuid4().hex[:8]}"
    yield {
        "PELCRO_BASE_URL": sandbox.base_url,
        "PELCRO_API_KEY": sandbox.api_key,
        "DATABASE_URL": pg_url,
        "PELCRO_SCHEMA": schema,
        "PELCRO_MARTS_SCHEMA": f"{schema}_marts",
    }
    with pg_engine.begin() as conn:
        for name in (f"{schema}_marts", f"{schema}_marts_staging", schema):
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def test_marts_after_a_sandbox_sync(env: dict[str, str], pg_engine: Engine) -> None:
    synced = run("sync", "customers", "plans", "subscriptions", "invoices", "charges", "refunds",
                 env=env)  # fmt: skip
    assert synced.returncode == 0, synced.stderr
    built = run("marts", env=env)
    assert built.returncode == 0, built.stdout + built.stderr
    lines = built.stdout.splitlines()
    for model in MODELS:  # a progress line per model
        assert any(line.split()[:1] == [model] for line in lines), built.stdout
    assert "marts built: 16 models" in built.stdout
    marts = env["PELCRO_MARTS_SCHEMA"]
    with pg_engine.connect() as conn:
        subs = conn.execute(
            text(f"""
            SELECT count(*) FROM "{env["PELCRO_SCHEMA"]}".subscriptions
            WHERE status IN ('active', 'past_due')""")
        ).scalar_one()
        current = conn.execute(
            text(f"""
            SELECT count(*) FROM "{marts}".mrr_monthly
            WHERE month = date_trunc('month', now() at time zone 'UTC')::date""")
        ).scalar_one()
        unbalanced = conn.execute(
            text(f"""
            SELECT count(*) FROM "{marts}".mrr_movements_summary
            WHERE abs(starting_mrr + new_mrr + expansion_mrr + contraction_mrr + churned_mrr
                      + reactivation_mrr - ending_mrr) > 1e-6""")
        ).scalar_one()
        customers = conn.execute(text(f'SELECT count(*) FROM "{marts}".customer_360')).scalar_one()
    # every subscription active now whose plan the sandbox knows contributes this month
    assert 0 < current <= subs and unbalanced == 0 and customers > 0


def test_a_bad_marts_schema_ends_with_one_line(env: dict[str, str]) -> None:
    result = run("marts", env={**env, "PELCRO_MARTS_SCHEMA": "Marts-1"})
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0 and "PELCRO_MARTS_SCHEMA" in result.stderr
