"""The production instance (deploy/dagster.yaml) exercised here: Postgres storage, the queued
run coordinator's limits, a schedule evaluated against the instance, and a backfill over
site partitions run by a real `dagster-daemon` against the sandbox."""

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.utils import make_new_backfill_id
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from dagster_project.definitions import defs
from dagster_project.defs.assets import asset_key
from dagster_project.defs.partitions import SITES
from dagster_project.defs.schedules import pelcro_sync_schedule
from tests.fixtures.postgres import _libpq
from tests.integration.test_cli import clean_env

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "dagster.yaml"
DAEMON = Path(sys.executable).with_name("dagster-daemon")
BACKFILLED = ("customers", "plans", "coupons")
IN_PROGRESS = {dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED}


@pytest.fixture
def dagster_pg_url(pg_server_url: str) -> Iterator[str]:
    """A throwaway database for the instance's storage, dropped afterwards."""
    name = f"dagster_prod_test_{uuid.uuid4().hex[:8]}"
    admin = _libpq(pg_server_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    # +psycopg2, as deploy/dagster.yaml explains: with psycopg 3 no event is stored.
    yield (
        make_url(pg_server_url)
        .set(drivername="postgresql+psycopg2", database=name)
        .render_as_string(hide_password=False)
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _home(tmp_path: Path, *, max_runs: int | None = None) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    config = TEMPLATE.read_text()
    if max_runs is not None:
        assert "max_concurrent_runs: 4" in config
        config = config.replace("max_concurrent_runs: 4", f"max_concurrent_runs: {max_runs}")
    (home / "dagster.yaml").write_text(config)
    return home


def test_the_template_loads_with_postgres_storage_and_the_queue_limits(
    tmp_path: Path, dagster_pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_PG_URL", dagster_pg_url)
    with dg.DagsterInstance.from_config(str(_home(tmp_path))) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        config = instance.get_concurrency_config()
        assert config.run_queue_config is not None
        assert config.run_queue_config.max_concurrent_runs == 4
        limits = {lim["key"]: lim for lim in config.run_queue_config.tag_concurrency_limits}
        assert limits["dagster/partition"]["limit"] == 1
        assert config.pool_config.default_pool_limit == 4
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2


@pytest.fixture
def deployment(tmp_path, dagster_pg_url, make_sandbox, pg_url, pg_engine: Engine):
    """A DAGSTER_HOME with the template (max_concurrent_runs=1) and the environment of a
    deployment pointed at a small sandbox; yields (home, env, sandbox, schema)."""
    running = make_sandbox(customers=40)
    schema = f"prod_{uuid.uuid4().hex[:8]}"
    home = _home(tmp_path, max_runs=1)
    env = clean_env(
        DAGSTER_HOME=str(home),
        DAGSTER_PG_URL=dagster_pg_url,
        PELCRO_BASE_URL=running.base_url,
        PELCRO_API_KEY=running.api_key,
        DATABASE_URL=pg_url,
        PELCRO_SCHEMA=schema,
        PELCRO_BUDGET_URL="warehouse",
    )
    yield home, env, running, schema
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_schedule_then_backfill_over_sites_runs_through_the_daemon_one_run_at_a_time(
    deployment, monkeypatch: pytest.MonkeyPatch, pg_engine: Engine
) -> None:
    home, env, running, schema = deployment
    for key in ("DAGSTER_HOME", "DAGSTER_PG_URL"):
        monkeypatch.setenv(key, env[key])
    sites = [str(s) for s in running.site_ids]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.add_dynamic_partitions(SITES, sites)
        # The schedule, evaluated against the production instance: one run per site.
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=datetime(2030, 1, 1, tzinfo=UTC)
        )
        requests = list(pelcro_sync_schedule(context))
        assert sorted(r.partition_key for r in requests) == sorted(sites)

        backfill_id = _submit_backfill(instance, sites)
        daemon = subprocess.Popen(
            [str(DAEMON), "run", "-w", str(ROOT / "workspace.yaml")],
            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            most, queued_while_busy = _watch(instance, backfill_id, timeout=90)
        except AssertionError as exc:
            daemon.terminate()
            runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
            states = [(r.tags.get("dagster/partition"), r.status.value) for r in runs]
            log = daemon.communicate()[0][:8000]
            raise AssertionError(f"{exc}; runs {states}; daemon: {log}") from None
        finally:
            daemon.terminate()
        err, _ = daemon.communicate(timeout=30)
        runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
        assert sorted(r.tags["dagster/partition"] for r in runs) == sorted(sites), err[-2000:]
        assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs), err[-2000:]
        assert most == 1 and queued_while_busy  # max_concurrent_runs=1 held, and queued
    with pg_engine.connect() as conn:
        landed = conn.execute(
            text(f'SELECT count(DISTINCT site_id) FROM "{schema}".customers')
        ).scalar_one()
    assert landed == len(sites)


def _submit_backfill(instance: dg.DagsterInstance, sites: list[str]) -> str:
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id=make_new_backfill_id(),
        asset_graph=defs.resolve_asset_graph(),
        partition_names=sites,
        asset_selection=[asset_key(name) for name in BACKFILLED],
        backfill_timestamp=time.time(),
        tags={},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title="prod-local test",
        description=None,
        run_config=None,
    )
    instance.add_backfill(backfill)
    return backfill.backfill_id


def _watch(instance: dg.DagsterInstance, backfill_id: str, *, timeout: float) -> tuple[int, bool]:
    """Poll until the backfill ends: (most runs in progress at once, whether a run waited in
    the queue while another was in progress)."""
    most, queued_while_busy = 0, False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = instance.get_runs(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
        busy = sum(r.status in IN_PROGRESS for r in runs)
        most = max(most, busy)
        queued_while_busy |= busy > 0 and any(r.status == dg.DagsterRunStatus.QUEUED for r in runs)
        backfill = instance.get_backfill(backfill_id)
        assert backfill is not None
        if backfill.status != BulkActionStatus.REQUESTED and busy == 0:
            return most, queued_while_busy
        time.sleep(0.5)
    raise AssertionError(f"backfill {backfill_id} did not finish in {timeout} s")
