"""The marts in Dagster: dbt models as assets below the entity assets, dbt tests as checks,
a real materialization through dagster-dbt, and CLI syncs recorded by the sensor."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from sqlalchemy import Engine, text

from dagster_project.definitions import defs
from dagster_project.defs.assets import asset_key
from dagster_project.defs.dbt_assets import MARTS_GROUP, dbt_resource, pelcro_marts
from dagster_project.defs.partitions import SITES
from dagster_project.defs.resources import WarehouseResource
from dagster_project.defs.sync_runs_sensor import pelcro_cli_syncs_sensor
from pelcro_sync.entities import get_entity
from pelcro_sync.warehouse import state
from pelcro_sync.warehouse.migrate import upgrade
from tests.fixtures.postgres import warehouse_of
from tests.integration import marts_dataset as data

MARTS = ("mrr_monthly", "mrr_movements", "mrr_movements_summary", "churn_monthly",
         "revenue_daily", "customer_360")  # fmt: skip


def _key(model: str) -> dg.AssetKey:
    return dg.AssetKey([MARTS_GROUP, model])


def test_models_are_assets_below_the_entity_assets() -> None:
    graph = defs.resolve_asset_graph()
    for model in MARTS:
        node = graph.get(_key(model))
        assert node.group_name == MARTS_GROUP
        assert node.automation_condition is not None  # rebuilt after the syncs
    parents = graph.get(_key("stg_pelcro__subscription_versions")).parent_keys
    assert parents == {asset_key("subscriptions")}  # the history table too: one asset writes both
    upstream = graph.upstream_key_iterator(_key("mrr_monthly"))
    assert {asset_key("subscriptions"), asset_key("plans")} <= set(upstream)
    assert {asset_key("charges"), asset_key("invoices"), asset_key("refunds")} <= set(
        graph.upstream_key_iterator(_key("revenue_daily"))
    )


def test_entity_assets_declare_what_they_reference() -> None:
    graph = defs.resolve_asset_graph()
    assert {asset_key("customers"), asset_key("plans")} <= graph.get(
        asset_key("subscriptions")
    ).parent_keys
    assert graph.get(asset_key("charges")).parent_keys == {asset_key("invoices")}


def test_every_dbt_test_is_an_asset_check() -> None:
    checks = {(k.asset_key, k.name) for k in pelcro_marts.check_keys}
    assert len(checks) >= 50
    summary = _key("mrr_movements_summary")
    names = {name for key, name in checks if key == summary}
    assert "assert_mrr_summary_continuous" in names
    assert any(n.startswith("movements_add_up") for n in names)
    assert any(n.startswith("unique_combination") for n in names)
    assert any(n.startswith("relationship_in_site") for k, n in checks if k == _key("mrr_monthly"))
    repo = defs.get_repository_def()
    assert repo.get_job("pelcro_marts_job") is not None


@pytest.fixture
def dataset_schema(pg_url: str, pg_engine: Engine) -> Iterator[str]:
    schema = f"d_{uuid.uuid4().hex[:8]}"
    upgrade(pg_url, schema=schema)
    with pg_engine.begin() as conn:
        data.insert(conn, schema=schema)
    yield schema
    with pg_engine.begin() as conn:
        for name in (f"{schema}_marts", f"{schema}_marts_staging", schema):
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def test_materializing_the_marts_runs_dbt_and_its_checks(
    pg_url: str, pg_engine: Engine, dataset_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    marts = f"{dataset_schema}_marts"
    monkeypatch.setenv("PELCRO_MARTS_SCHEMA", marts)
    warehouse = WarehouseResource(database_url=pg_url, schema_name=dataset_schema)
    result = dg.materialize(
        [pelcro_marts], resources={"dbt": dbt_resource(), "warehouse": warehouse}
    )
    assert result.success
    done = {e.asset_key for e in result.get_asset_materialization_events()}
    assert {_key(m) for m in MARTS} <= done
    checks = result.get_asset_check_evaluations()
    assert len(checks) >= 50 and all(c.passed for c in checks)
    with pg_engine.connect() as conn:
        rows = conn.execute(text(f'SELECT count(*) FROM "{marts}".mrr_monthly')).scalar_one()
    assert rows == len(data.MRR_MONTHLY)


def _cli_run(engine: Engine, schema: str, *, entity: str, site_id: int, ago: float) -> str:
    """A succeeded `_sync_runs` row, as `pelcro-sync sync` leaves it, finished `ago` s ago."""
    finished = datetime.now(UTC) - timedelta(seconds=ago)
    warehouse = warehouse_of(engine, schema)
    with engine.begin() as conn:
        run_id = state.start_run(conn, warehouse=warehouse, site_id=site_id,
                                 entity=get_entity(entity), mode="full")  # fmt: skip
        state.finish_run(conn, warehouse=warehouse, run_id=run_id, status="succeeded",
                         finished_at=finished, records_read=6, inserted=6, requests=2)  # fmt: skip
        conn.execute(
            text(f'UPDATE "{schema}"._sync_runs SET started_at = :s WHERE run_id = :r'),
            {"s": finished - timedelta(seconds=2), "r": run_id},
        )
    return run_id


def test_sensor_records_cli_syncs_as_runless_materializations(
    pg_url: str, pg_engine: Engine, dataset_schema: str
) -> None:
    engine, schema = pg_engine, dataset_schema
    by_cli = _cli_run(engine, schema, entity="customers", site_id=101, ago=120)
    by_dagster = _cli_run(engine, schema, entity="plans", site_id=101, ago=90)
    _cli_run(engine, schema, entity="invoices", site_id=101, ago=1)  # not settled yet
    resources = {"warehouse": WarehouseResource(database_url=pg_url, schema_name=schema)}
    with dg.instance_for_test() as instance:
        with dg.build_sensor_context(instance=instance, resources=resources) as context:
            first = pelcro_cli_syncs_sensor(context)
        # A site not yet a partition is added first; its runs are recorded on the next tick.
        assert isinstance(first, dg.SensorResult) and not first.asset_events
        assert first.dynamic_partitions_requests[0].partition_keys == ["101"]
        instance.add_dynamic_partitions(SITES, ["101"])
        instance.report_runless_asset_event(dg.AssetMaterialization(
            asset_key("plans"), partition="101", metadata={"sync_run_id": by_dagster}))  # fmt: skip
        with dg.build_sensor_context(instance=instance, resources=resources) as context:
            result = pelcro_cli_syncs_sensor(context)
    assert isinstance(result, dg.SensorResult)
    (event,) = result.asset_events
    assert isinstance(event, dg.AssetMaterialization)
    assert event.asset_key == asset_key("customers") and event.partition == "101"
    meta = {k: getattr(v, "value", v) for k, v in event.metadata.items()}
    assert meta["sync_run_id"] == by_cli and meta["dagster/row_count"] == 5
    assert meta["inserted"] == 6 and meta["records_read"] == 6 and meta["duration_s"] == 2.0
    assert result.cursor is not None and result.cursor < datetime.now(UTC).isoformat()
