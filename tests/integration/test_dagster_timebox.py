"""The time-boxed reconcile in Dagster: a run's `time_limit` stops its scans cleanly (one
deadline from the run's start, shared by its steps), the metadata says how far each got, the
next run resumes, the nightly schedule passes PELCRO_RECONCILE_WINDOW, and the freshness check
counts only complete scans for the entities the fast path does not cover."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg
import pytest
from sqlalchemy import Engine, text

from dagster_project.definitions import defs
from dagster_project.defs.assets import ENTITY_ASSETS, asset_key
from dagster_project.defs.freshness import FRESHNESS_CHECKS
from dagster_project.defs.partitions import SITE_PARTITIONS
from dagster_project.defs.resources import pelcro_from_env, warehouse_from_env
from dagster_project.defs.schedules import pelcro_reconcile_schedule, pelcro_sync_schedule
from pelcro_sync.errors import ConfigError

ASSETS = {a.key.path[-1]: a for a in ENTITY_ASSETS}
SLOW, FAST = "150", "6000"  # requests a minute: 2.5 a second while a limit is tested
LIMIT = "8s"  # at 2.5 a second, about 20 of the 30 customer and 24 subscription pages


@pytest.fixture
def running(make_sandbox, monkeypatch: pytest.MonkeyPatch, pg_url: str, pg_engine: Engine):
    """The sandbox (3,000 customers) and a deployment's environment; the schema dropped after."""
    served = make_sandbox(customers=3000, sites=1)
    schema = f"dgt_{uuid.uuid4().hex[:8]}"
    for var in ("PELCRO_ACCESS_TOKEN", "PELCRO_SITE_ID"):
        monkeypatch.delenv(var, raising=False)
    for var, value in {"PELCRO_API_KEY": served.api_key, "PELCRO_BASE_URL": served.base_url,
                       "DATABASE_URL": pg_url, "PELCRO_SCHEMA": schema}.items():  # fmt: skip
        monkeypatch.setenv(var, value)
    served.schema = schema
    yield served
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def instance(running) -> dg.DagsterInstance:
    made = dg.DagsterInstance.ephemeral()
    made.add_dynamic_partitions(SITE_PARTITIONS.name, [str(running.site_ids[0])])
    return made


def _materialize(running, instance, names: list[str], *, limit: str | None, rate: str, **kw):
    """One run over the named entities' assets, paced at `rate` requests a minute."""
    with pytest.MonkeyPatch.context() as patch:  # EnvVar: resolved when the run starts
        patch.setenv("PELCRO_RATE_LIMIT", rate)
        config = {"time_limit": limit} if limit else {}
        return dg.materialize(
            [ASSETS[n] for n in names],
            resources={"pelcro": pelcro_from_env(), "warehouse": warehouse_from_env()},
            partition_key=str(running.site_ids[0]),
            instance=instance,
            run_config={"ops": {ASSETS[n].op.name: {"config": config} for n in names}},
            **kw,
        )


def _meta(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    return {
        e.materialization.asset_key.path[-1]: {
            k: v.value for k, v in e.materialization.metadata.items()
        }
        for e in result.get_asset_materialization_events()
    }


def _checkpoint(engine: Engine, schema: str, entity: str) -> tuple:
    with engine.connect() as conn:
        return conn.execute(
            text(f'SELECT scan_next_page, last_complete_scan_at, last_success_at FROM "{schema}"'
                 "._sync_state WHERE entity = :e"), {"e": entity},
        ).one()  # fmt: skip


def _freshness(instance) -> dict[str, dg.AssetCheckEvaluation]:
    chosen = [ASSETS["customers"], ASSETS["subscriptions"]]
    checks = [c for c in FRESHNESS_CHECKS if {k.asset_key for k in c.check_keys} <= {
        asset_key("customers"), asset_key("subscriptions")}]  # fmt: skip
    result = dg.materialize(
        [*chosen, *checks], selection=dg.AssetSelection.all_asset_checks(), instance=instance,
        resources={"warehouse": warehouse_from_env(), "pelcro": pelcro_from_env()},
    )  # fmt: skip
    return {c.asset_key.path[-1]: c for c in result.get_asset_check_evaluations()}


def test_a_time_limit_stops_scans_cleanly_the_next_run_resumes_and_freshness_sees_it(
    running, instance: dg.DagsterInstance, pg_engine: Engine
) -> None:
    site, schema = running.site_ids[0], running.schema
    both = ["customers", "subscriptions"]
    first = _materialize(running, instance, both, limit=None, rate=FAST)
    assert first.success
    for name, m in _meta(first).items():
        assert (m["status"], m["scanned_share"], m["progress"]) == ("succeeded", 1.0, ""), name

    # Subscriptions (reconcile scans only) last completed a scan 30 hours ago.
    with pg_engine.begin() as conn:
        conn.execute(
            text(
                f'UPDATE "{schema}"._sync_state SET last_complete_scan_at = '
                "now() - interval '30 hours' WHERE entity = 'subscriptions'"
            )
        )

    # One deadline for the run: customers stops at it; subscriptions' turn (after customers,
    # which it references) comes too late to start, however long a step of its own would have.
    limited = _materialize(running, instance, both, limit=LIMIT, rate=SLOW)
    assert limited.success
    meta = _meta(limited)
    customers = meta["customers"]
    stopped = customers["stopped_at_page"]
    assert customers["status"] == "succeeded" and 1 < stopped <= 30, customers
    assert customers["scanned_share"] == pytest.approx((stopped - 1) / 30)
    share = int(customers["scanned_share"] * 100)
    assert customers["progress"] == f"customers (site {site}): {share}% scanned, resumes next run"
    assert customers["records_read"] == (stopped - 1) * 100
    assert _checkpoint(pg_engine, schema, "customers")[0] == stopped  # the checkpoint kept
    subs = meta["subscriptions"]
    assert (subs["status"], subs["requests"], subs["sync_run_id"]) == ("deferred", 0, "")
    assert subs["progress"] == f"subscriptions (site {site}): not started, resumes next run"

    # A time-limited run of subscriptions alone succeeds, with its scan unfinished.
    alone = _materialize(running, instance, ["subscriptions"], limit=LIMIT, rate=SLOW)
    subs = _meta(alone)["subscriptions"]
    assert alone.success and subs["status"] == "succeeded" and subs["stopped_at_page"] > 1
    next_page, complete_at, success_at = _checkpoint(pg_engine, schema, "subscriptions")
    assert next_page == subs["stopped_at_page"]
    assert (datetime.now(UTC) - success_at).total_seconds() < 120  # a recent success...
    assert (datetime.now(UTC) - complete_at).total_seconds() > 29 * 3600  # ...no recent scan

    verdicts = _freshness(instance)
    stale = verdicts["subscriptions"]
    assert not stale.passed and stale.severity == dg.AssetCheckSeverity.WARN
    assert stale.metadata["failing_sites"].value == [site]
    assert stale.description == (
        f"no complete reconcile scan within 26h on site {site} (last complete scan 30.0 h ago; "
        f"a scan in flight resumes at page {next_page})"
    )
    assert stale.metadata["last_complete_scan_hours"].value[str(site)] == pytest.approx(30, 0.01)
    assert verdicts["customers"].passed  # the fast path covers it: its recent success counts

    # Without a limit both scans resume where they stopped and complete: fresh again.
    resumed = _materialize(running, instance, both, limit=None, rate=FAST)
    meta = _meta(resumed)
    assert meta["customers"]["resumed_from_page"] == stopped
    assert meta["subscriptions"]["resumed_from_page"] == next_page
    for name in both:
        assert meta[name]["scanned_share"] == 1.0
        assert _checkpoint(pg_engine, schema, name)[0] is None
    assert all(c.passed for c in _freshness(instance).values())


def test_a_malformed_time_limit_fails_the_step_without_retries(
    running, instance: dg.DagsterInstance
) -> None:
    result = _materialize(
        running, instance, ["plans"], limit="soon", rate=FAST, raise_on_error=False
    )
    assert not result.success
    events = [e.event_type_value for e in result.all_events]
    assert "STEP_FAILURE" in events and "STEP_UP_FOR_RETRY" not in events
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.user_failure_data.description
    assert message == "run config time_limit must be a duration such as 90m or 6h; got 'soon'"


# -- the schedules -------------------------------------------------------------------------


@pytest.fixture
def sched_instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as made:
        made.add_dynamic_partitions("pelcro_site", ["11", "12"])
        yield made


def _tick(schedule, instance: dg.DagsterInstance) -> list[dg.RunRequest]:
    when = datetime(2030, 1, 1, 3, tzinfo=UTC)
    return schedule(dg.build_schedule_context(instance=instance, scheduled_execution_time=when))


@pytest.mark.parametrize(
    ("window", "expected"), [(None, "6h"), ("90m", "90m"), ("1h30m", "90m")],
    ids=["default", "minutes", "mixed"],
)  # fmt: skip
def test_the_reconcile_schedule_gives_every_asset_the_window(
    sched_instance, monkeypatch: pytest.MonkeyPatch, window: str | None, expected: str
) -> None:
    if window is None:
        monkeypatch.delenv("PELCRO_RECONCILE_WINDOW", raising=False)
    else:
        monkeypatch.setenv("PELCRO_RECONCILE_WINDOW", window)
    requests = _tick(pelcro_reconcile_schedule, sched_instance)
    assert [r.partition_key for r in requests] == ["11", "12"]
    job = defs.resolve_job_def("pelcro_sync_job")
    for request in requests:
        ops = request.run_config["ops"]
        assert ops == {a.op.name: {"config": {"time_limit": expected}} for a in ENTITY_ASSETS}
        assert dg.validate_run_config(job, request.run_config)  # the job accepts it
    fast = _tick(pelcro_sync_schedule, sched_instance)
    assert all(not r.run_config for r in fast)  # the fast path runs without a limit


def test_a_malformed_window_fails_the_reconcile_tick_with_one_line(
    sched_instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PELCRO_RECONCILE_WINDOW", "all night")
    with pytest.raises(ConfigError) as caught:
        _tick(pelcro_reconcile_schedule, sched_instance)
    assert str(caught.value) == (
        "PELCRO_RECONCILE_WINDOW must be a duration such as 90m or 6h; got 'all night'"
    )
