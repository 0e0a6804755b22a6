"""Two Pelcro accounts (two sandboxes) in one Dagster deployment: the sites sensor spans both,
and each site partition syncs with its own account's credential, from its own server."""

import uuid

import dagster as dg
import pytest
from sqlalchemy import Engine, text

from dagster_project.defs.assets import ENTITY_ASSETS, asset_key
from dagster_project.defs.partitions import SITE_PARTITIONS
from dagster_project.defs.resources import pelcro_from_env, warehouse_from_env
from dagster_project.defs.sensors import pelcro_sites_sensor

CUSTOMERS = next(a for a in ENTITY_ASSETS if a.key == asset_key("customers"))


@pytest.fixture
def two_accounts(monkeypatch: pytest.MonkeyPatch, make_sandbox, pg_url: str, pg_engine: Engine):
    """acme = sandbox A's main account (sites 4996, 4997); beta = sandbox B's other account
    (site 7001), found through `GET /account`: neither lists its sites in the environment."""
    acme, beta = make_sandbox(customers=40, seed=1), make_sandbox(customers=40, seed=2)
    schema = f"acct_{uuid.uuid4().hex[:8]}"
    for var in (
        "PELCRO_API_KEY",
        "PELCRO_ACCESS_TOKEN",
        "PELCRO_SITE_ID",
        "PELCRO_RATE_LIMIT",
        "PELCRO_BASE_URL",
        "PELCRO_BUDGET_URL",
    ):
        monkeypatch.delenv(var, raising=False)  # fmt: skip
    monkeypatch.setenv("PELCRO_ACCOUNTS", "acme,beta")
    monkeypatch.setenv("PELCRO_ACME_BASE_URL", acme.base_url)
    monkeypatch.setenv("PELCRO_ACME_API_KEY", acme.api_key)
    monkeypatch.setenv("PELCRO_BETA_BASE_URL", beta.base_url)
    monkeypatch.setenv("PELCRO_BETA_API_KEY", beta.sandbox.other_api_key)
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("PELCRO_SCHEMA", schema)
    yield acme, beta, schema
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_sensor_adds_the_sites_of_every_account(two_accounts) -> None:
    acme, beta, _ = two_accounts
    instance = dg.DagsterInstance.ephemeral()
    context = dg.build_sensor_context(instance=instance, resources={"pelcro": pelcro_from_env()})
    result = pelcro_sites_sensor(context)
    assert isinstance(result, dg.SensorResult)
    (request,) = result.dynamic_partitions_requests
    expected = [*acme.site_ids, beta.sandbox.other_site_id]
    assert sorted(request.partition_keys) == sorted(str(s) for s in expected)


def test_each_site_partition_syncs_through_its_own_account(two_accounts, pg_engine: Engine):
    acme, beta, schema = two_accounts
    instance = dg.DagsterInstance.ephemeral()
    sites = {acme.site_ids[0]: acme, beta.sandbox.other_site_id: beta}
    instance.add_dynamic_partitions(SITE_PARTITIONS.name, [str(s) for s in sites])
    resources = {"pelcro": pelcro_from_env(), "warehouse": warehouse_from_env()}
    for site, running in sites.items():
        before = {id(r): r.sandbox.stats.requests for r in (acme, beta)}
        result = dg.materialize([CUSTOMERS], resources=resources, partition_key=str(site),
                                instance=instance)  # fmt: skip
        assert result.success
        other = beta if running is acme else acme
        assert running.sandbox.stats.requests > before[id(running)]  # its own server answered
        # The other account is asked at most its `GET /account` (to learn whose site it is).
        assert other.sandbox.stats.requests - before[id(other)] <= 1
        truth = len(running.sandbox.truth("customers", site))
        with pg_engine.connect() as conn:
            landed = conn.execute(
                text(f'SELECT count(*) FROM "{schema}".customers WHERE site_id = :s'), {"s": site}
            ).scalar_one()
        assert landed == truth > 0
