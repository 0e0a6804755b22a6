"""The Dagster code location: its definitions load, and a site partition syncs from the sandbox
over HTTP into a real Postgres, with truthful metadata, passing checks and no secret in the
event log."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg
import httpx
import pytest
from sqlalchemy import Engine, text

from dagster_project.definitions import defs
from dagster_project.defs.assets import API_POOL, ENTITY_ASSETS, GROUP, asset_key
from dagster_project.defs.checks import ENTITY_CHECKS, REFERENCES
from dagster_project.defs.freshness import FRESHNESS_CHECKS
from dagster_project.defs.partitions import SITE_PARTITIONS
from dagster_project.defs.resources import pelcro_from_env, warehouse_from_env
from dagster_project.defs.schedules import (
    pelcro_reconcile_schedule,
    pelcro_sync_job,
    pelcro_sync_schedule,
)
from dagster_project.defs.sensors import pelcro_sites_sensor
from pelcro_sync.entities import ENTITIES

NAMES = [e.name for e in ENTITIES]
ASSETS_BY_KEY = {a.key: a for a in ENTITY_ASSETS}


# -- definitions --------------------------------------------------------------------------


def test_definitions_load_with_nothing_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading does no I/O and needs no environment: the UI must open on a bare machine."""
    for var in ("PELCRO_API_KEY", "PELCRO_ACCESS_TOKEN", "DATABASE_URL", "PELCRO_SITE_ID"):
        monkeypatch.delenv(var, raising=False)
    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    job = repo.get_job("pelcro_sync_job")
    assert job.partitions_def == SITE_PARTITIONS
    assert job.executor_def.name == "in_process"  # why: see definitions.py
    assert sorted(s.name for s in repo.schedule_defs) == [
        "pelcro_freshness_schedule", "pelcro_reconcile_schedule", "pelcro_sync_schedule",
    ]  # fmt: skip
    assert sorted(s.name for s in repo.sensor_defs) == [
        "pelcro_cli_syncs_sensor", "pelcro_marts_automation", "pelcro_sites_sensor",
        "pelcro_webhooks_sensor",
    ]  # fmt: skip


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_every_entity_has_an_asset(name: str) -> None:
    asset = ASSETS_BY_KEY[dg.AssetKey(["pelcro", name])]
    spec = asset.specs_by_key[asset.key]
    assert spec.group_name == GROUP == "pelcro"
    assert asset.partitions_def == SITE_PARTITIONS
    assert {"postgres", "python"} <= set(spec.kinds)
    assert asset.op.pool == API_POOL == "pelcro_api"
    assert asset.op.retry_policy is not None and asset.op.retry_policy.max_retries == 2
    assert spec.description and name in spec.description
    assert {"pelcro", "warehouse"} <= asset.required_resource_keys


def test_one_asset_per_entity_and_no_other() -> None:
    assert sorted(k.path[-1] for k in ASSETS_BY_KEY) == sorted(NAMES)
    assert len(ENTITY_ASSETS) == 18


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_every_asset_has_its_checks(name: str) -> None:
    checks = {k.name for c in ENTITY_CHECKS for k in c.check_keys if k.asset_key == asset_key(name)}
    expected = {"primary_key_unique", "row_count_matches_api"}
    expected |= {f"{col}_resolves_to_{target}" for col, target in REFERENCES.get(name, ())}
    assert checks == expected


def test_reference_checks_cover_the_documented_relations() -> None:
    assert REFERENCES == {
        "subscriptions": (("user_id", "customers"), ("plan", "plans")),
        "invoices": (("customer", "customers"),),
        "charges": (("invoice_id", "invoices"),),
    }


# -- against the sandbox and Postgres ----------------------------------------------------


@pytest.fixture
def small_sandbox(make_sandbox):
    return make_sandbox(customers=120)


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, small_sandbox, pg_url: str) -> Iterator[str]:
    """The environment of a deployment pointed at the sandbox; yields the schema, unique."""
    schema = f"dg_{uuid.uuid4().hex[:8]}"
    for var in ("PELCRO_ACCESS_TOKEN", "PELCRO_SITE_ID", "PELCRO_RATE_LIMIT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PELCRO_API_KEY", small_sandbox.api_key)
    monkeypatch.setenv("PELCRO_BASE_URL", small_sandbox.base_url)
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("PELCRO_SCHEMA", schema)
    yield schema


@pytest.fixture
def dropped_schema(configured: str, pg_engine: Engine) -> Iterator[str]:
    yield configured
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{configured}" CASCADE')


def _resources() -> dict[str, dg.ConfigurableResource]:
    # Built the way definitions.py builds them: secrets as EnvVar, resolved at run time.
    return {"pelcro": pelcro_from_env(), "warehouse": warehouse_from_env()}


def _api_totals(sandbox, site_id: int) -> dict[str, int]:
    """meta.total of every entity on `site_id`, asked of the sandbox directly."""
    headers = {"Authorization": f"Bearer {sandbox.api_key}"}
    totals = {}
    with httpx.Client(base_url=sandbox.base_url.rstrip("/") + "/", headers=headers) as http:
        for entity in ENTITIES:
            params = {"site_id": site_id, "limit": 1, "page": 1}
            body = http.get(entity.path.lstrip("/"), params=params).raise_for_status().json()
            totals[entity.name] = int(body["meta"]["total"])
    return totals


def _materializations(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    out = {}
    for event in result.get_asset_materialization_events():
        mat = event.materialization
        out[mat.asset_key.path[-1]] = {k: v.value for k, v in mat.metadata.items()}
    return out


def _materialize(site: str, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*ENTITY_ASSETS, *ENTITY_CHECKS],
        resources=_resources(),
        partition_key=site,
        instance=instance,
    )


def test_materialize_a_site_twice_lands_rows_then_changes_none(
    small_sandbox, dropped_schema: str, pg_engine: Engine
) -> None:
    schema = dropped_schema
    site = small_sandbox.site_ids[0]
    totals = _api_totals(small_sandbox, site)
    assert totals["customers"] > 0
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(SITE_PARTITIONS.name, [str(site)])

    first = _materialize(str(site), instance)
    assert first.success
    meta = _materializations(first)
    assert set(meta) == set(NAMES)
    for name, m in meta.items():
        assert m["records_read"] == totals[name], name
        assert m["inserted"] == totals[name], name
        assert m["updated"] == m["deleted"] == 0, name
        assert m["dagster/row_count"] == totals[name], name
        assert m["requests"] >= 1 and m["throttled_429"] == 0, name
        assert m["type_errors"] == 0, (name, m["type_errors_by_field"])
        assert m["dagster/table_name"] == f"{schema}.{name}"
        assert m["preview"].startswith("| id |")

    with pg_engine.connect() as conn:
        for name in NAMES:
            landed = conn.execute(
                text(f'SELECT count(*) FROM "{schema}"."{name}" WHERE site_id = :s'), {"s": site}
            ).scalar_one()
            assert landed == totals[name], name

    checks = first.get_asset_check_evaluations()
    assert len(checks) == sum(len(list(c.check_keys)) for c in ENTITY_CHECKS)
    failed = [(c.asset_key.path[-1], c.check_name, c.metadata) for c in checks if not c.passed]
    assert failed == []

    second = _materialize(str(site), instance)
    assert second.success
    for name, m in _materializations(second).items():
        assert m["records_read"] == m["unchanged"] == totals[name], name
        assert m["inserted"] == m["updated"] == m["deleted"] == 0, name
        assert m["dagster/row_count"] == totals[name], name
    assert all(c.passed for c in second.get_asset_check_evaluations())

    _assert_secret_absent(small_sandbox.api_key, instance, [first.run_id, second.run_id])
    _assert_checks_catch_a_lost_customer(site, schema, instance, pg_engine)


def _assert_checks_catch_a_lost_customer(
    site: int, schema: str, instance: dg.DagsterInstance, pg_engine: Engine
) -> None:
    """Remove a customer that subscriptions point at: the row count check fails (ERROR) and
    the reference check warns with the count of subscriptions left dangling."""
    with pg_engine.begin() as conn:
        user_id, dangling = conn.execute(
            text(
                f'SELECT user_id, count(*) FROM "{schema}".subscriptions WHERE site_id = :s '
                "AND user_id IS NOT NULL GROUP BY user_id ORDER BY count(*) DESC LIMIT 1"
            ),
            {"s": site},
        ).one()
        conn.execute(
            text(f'DELETE FROM "{schema}".customers WHERE site_id = :s AND id = :id'),
            {"s": site, "id": user_id},
        )
    result = dg.materialize(
        [*ENTITY_ASSETS, *ENTITY_CHECKS],
        selection=dg.AssetSelection.all_asset_checks(),
        resources=_resources(),
        instance=instance,  # no partition: the checks look at every site synced so far
    )
    assert result.get_asset_materialization_events() == []
    verdicts = {
        (c.asset_key.path[-1], c.check_name): c for c in result.get_asset_check_evaluations()
    }
    failed = {key for key, c in verdicts.items() if not c.passed}
    # The customer may have had invoices too: that reference check may warn as well.
    assert {
        ("customers", "row_count_matches_api"),
        ("subscriptions", "user_id_resolves_to_customers"),
    } <= failed
    assert failed <= {
        ("customers", "row_count_matches_api"),
        ("subscriptions", "user_id_resolves_to_customers"),
        ("invoices", "customer_resolves_to_customers"),
    }
    reference = verdicts[("subscriptions", "user_id_resolves_to_customers")]
    assert reference.severity == dg.AssetCheckSeverity.WARN
    assert reference.metadata["unresolved"].value == dangling
    row_count = verdicts[("customers", "row_count_matches_api")]
    assert row_count.severity == dg.AssetCheckSeverity.ERROR


def _assert_secret_absent(secret: str, instance: dg.DagsterInstance, run_ids: list[str]) -> None:
    """Neither the event log (metadata, logs, errors) nor the stored run config holds it."""
    for run_id in run_ids:
        run = instance.get_run_by_id(run_id)
        assert run is not None
        assert secret not in dg.serialize_value(run)
        records = instance.all_logs(run_id)
        assert records
        for record in records:
            assert secret not in dg.serialize_value(record)


def test_failed_credential_fails_the_step_without_retries(
    small_sandbox, dropped_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rejected key is permanent: no RetryPolicy attempts, and the key is not echoed."""
    monkeypatch.setenv("PELCRO_API_KEY", "not-a-valid-key-" + uuid.uuid4().hex)
    monkeypatch.setenv("PELCRO_RATE_LIMIT", "6000")  # no GET /account probe
    instance = dg.DagsterInstance.ephemeral()
    site = str(small_sandbox.site_ids[0])
    instance.add_dynamic_partitions(SITE_PARTITIONS.name, [site])
    result = dg.materialize(
        [asset for asset in ENTITY_ASSETS if asset.key == asset_key("plans")],
        resources=_resources(),
        partition_key=site,
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    events = [e.event_type_value for e in result.all_events]
    assert "STEP_FAILURE" in events and "STEP_UP_FOR_RETRY" not in events


# -- sensor and schedule ------------------------------------------------------------------


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """A throwaway instance with a ref (schedule contexts need one; ephemeral has none)."""
    with dg.instance_for_test() as instance:
        yield instance


def test_site_sensor_adds_the_sandbox_sites_as_partitions(
    small_sandbox, configured: str, instance: dg.DagsterInstance
) -> None:
    context = dg.build_sensor_context(instance=instance, resources={"pelcro": pelcro_from_env()})
    result = pelcro_sites_sensor(context)
    assert isinstance(result, dg.SensorResult)
    (request,) = result.dynamic_partitions_requests
    assert request.partitions_def_name == "pelcro_site"
    assert list(request.partition_keys) == [str(s) for s in small_sandbox.site_ids]

    instance.add_dynamic_partitions("pelcro_site", list(request.partition_keys))
    context = dg.build_sensor_context(instance=instance, resources={"pelcro": pelcro_from_env()})
    assert isinstance(pelcro_sites_sensor(context), dg.SkipReason)


def test_site_sensor_honours_pelcro_site_id(
    small_sandbox, configured: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PELCRO_SITE_ID", str(small_sandbox.site_ids[-1]))
    context = dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(), resources={"pelcro": pelcro_from_env()}
    )
    result = pelcro_sites_sensor(context)
    assert isinstance(result, dg.SensorResult)
    assert list(result.dynamic_partitions_requests[0].partition_keys) == [
        str(small_sandbox.site_ids[-1])
    ]


def test_site_sensor_skips_without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("PELCRO_API_KEY", "PELCRO_ACCESS_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    context = dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(), resources={"pelcro": pelcro_from_env()}
    )
    assert isinstance(pelcro_sites_sensor(context), dg.SkipReason)


def test_schedule_requests_one_run_per_site(instance: dg.DagsterInstance) -> None:
    when = datetime(2030, 1, 1, 5, tzinfo=UTC)
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=when)
    assert isinstance(pelcro_sync_schedule(context), dg.SkipReason)

    instance.add_dynamic_partitions("pelcro_site", ["11", "12", "13"])
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=when)
    requests = pelcro_sync_schedule(context)
    assert [r.partition_key for r in requests] == ["11", "12", "13"]
    assert len({r.run_key for r in requests}) == 3
    assert {r.tags["pelcro/mode"] for r in requests} == {"fast"}
    assert pelcro_sync_schedule.job_name == pelcro_sync_job.name
    assert pelcro_sync_schedule.cron_schedule == "*/15 * * * *"


def test_reconcile_schedule_requests_a_full_run_per_site_nightly(
    instance: dg.DagsterInstance,
) -> None:
    instance.add_dynamic_partitions("pelcro_site", ["11", "12"])
    when = datetime(2030, 1, 1, 3, tzinfo=UTC)
    requests = pelcro_reconcile_schedule(
        dg.build_schedule_context(instance=instance, scheduled_execution_time=when)
    )
    assert [(r.partition_key, r.tags["pelcro/mode"]) for r in requests] == [
        ("11", "full"), ("12", "full"),
    ]  # fmt: skip
    assert pelcro_reconcile_schedule.job_name == pelcro_sync_job.name
    assert pelcro_reconcile_schedule.cron_schedule == "0 3 * * *"


def test_fast_tag_reads_one_page_and_freshness_flags_a_stale_site(
    small_sandbox, dropped_schema: str, pg_engine: Engine
) -> None:
    """A run tagged pelcro/mode=fast after a full one reads one page of customers and skips
    subscriptions (scanned recently); the freshness check fails once a site goes stale."""
    site = str(small_sandbox.site_ids[0])
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(SITE_PARTITIONS.name, [site])
    chosen = [ASSETS_BY_KEY[asset_key(n)] for n in ("customers", "subscriptions")]
    full = dg.materialize(chosen, resources=_resources(), partition_key=site, instance=instance)
    fast = dg.materialize(chosen, resources=_resources(), partition_key=site, instance=instance,
                          tags={"pelcro/mode": "fast"})  # fmt: skip
    assert full.success and fast.success
    meta = _materializations(fast)
    assert (meta["customers"]["mode"], meta["customers"]["requests"]) == ("fast", 1)
    assert (meta["subscriptions"]["status"], meta["subscriptions"]["requests"]) == ("skipped", 0)

    def freshness() -> dict[str, dg.AssetCheckEvaluation]:
        result = dg.materialize(
            [*chosen, *FRESHNESS_CHECKS], selection=dg.AssetSelection.all_asset_checks(),
            resources=_resources(), instance=instance,
        )  # fmt: skip
        return {c.asset_key.path[-1]: c for c in result.get_asset_check_evaluations()}

    assert all(c.passed for c in freshness().values())
    with pg_engine.begin() as conn:
        conn.execute(
            text(
                f'UPDATE "{dropped_schema}"._sync_state SET last_success_at = now() - '
                "interval '2 days' WHERE entity = 'customers'"
            )
        )
    verdicts = freshness()
    assert not verdicts["customers"].passed and verdicts["subscriptions"].passed
    assert verdicts["customers"].severity == dg.AssetCheckSeverity.WARN
    assert site in verdicts["customers"].metadata["stale_sites"].value
