"""Checks that cannot hide a failing site (issue 21, item 7): site A breaks after its sync,
site B syncs clean afterwards, and every check that A fails still fails, naming A alone."""

import uuid
from collections.abc import Iterator

import dagster as dg
import pytest
from sqlalchemy import Engine, text

from dagster_project.defs.assets import ENTITY_ASSETS, asset_key
from dagster_project.defs.checks import ENTITY_CHECKS
from dagster_project.defs.partitions import SITE_PARTITIONS
from dagster_project.defs.resources import pelcro_from_env, warehouse_from_env

CHOSEN = ("customers", "plans", "subscriptions")
KEYS = [asset_key(n) for n in CHOSEN]


@pytest.fixture
def schema(monkeypatch: pytest.MonkeyPatch, pg_url: str, pg_engine: Engine) -> Iterator[str]:
    name = f"dgchk_{uuid.uuid4().hex[:8]}"
    for var in ("PELCRO_ACCESS_TOKEN", "PELCRO_SITE_ID", "PELCRO_RATE_LIMIT", "PELCRO_ACCOUNTS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("PELCRO_SCHEMA", name)
    yield name
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def _run(site: int, instance: dg.DagsterInstance, selection: dg.AssetSelection):
    assets = [a for a in ENTITY_ASSETS if a.key in KEYS]
    checks = [c for c in ENTITY_CHECKS if {k.asset_key for k in c.check_keys} <= set(KEYS)]
    result = dg.materialize(
        [*assets, *checks], selection=selection, partition_key=str(site), instance=instance,
        resources={"pelcro": pelcro_from_env(), "warehouse": warehouse_from_env()},
    )  # fmt: skip
    assert result.success
    return result


def _break_site(pg_engine: Engine, schema: str, site: int) -> int:
    """On `site` only: one customer stored twice (the primary key dropped, as a botched manual
    migration would), and a plan that subscriptions name deleted. Returns the subscriptions
    left dangling."""
    with pg_engine.begin() as conn:
        conn.execute(text(f'ALTER TABLE "{schema}".customers DROP CONSTRAINT customers_pkey'))
        conn.execute(text(
            f'INSERT INTO "{schema}".customers SELECT * FROM "{schema}".customers '
            "WHERE site_id = :s ORDER BY id LIMIT 1"
        ), {"s": site})  # fmt: skip
        plan, dangling = conn.execute(text(
            f'SELECT plan, count(*) FROM "{schema}".subscriptions WHERE site_id = :s '
            "AND plan IS NOT NULL GROUP BY plan ORDER BY count(*) DESC, plan LIMIT 1"
        ), {"s": site}).one()  # fmt: skip
        conn.execute(
            text(f'DELETE FROM "{schema}".plans WHERE site_id = :s AND id = :id'),
            {"s": site, "id": plan},
        )
    return dangling


def test_a_failing_site_is_still_named_after_another_site_syncs_clean(
    make_sandbox, schema: str, pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = make_sandbox(customers=80, sites=2)
    monkeypatch.setenv("PELCRO_API_KEY", running.api_key)
    monkeypatch.setenv("PELCRO_BASE_URL", running.base_url)
    a, b = running.site_ids
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(SITE_PARTITIONS.name, [str(a), str(b)])
    for site in (a, b):  # both sites synced, every check passing
        clean = _run(site, instance, dg.AssetSelection.all()).get_asset_check_evaluations()
        assert clean and all(c.passed for c in clean), [c for c in clean if not c.passed]
    dangling = _break_site(pg_engine, schema, a)

    # B syncs again: its plans and subscriptions, and every check of the three tables runs
    # (customers' sync is left out: its upsert needs the primary key A's breakage took).
    synced = dg.AssetSelection.assets(*KEYS[1:])
    second = _run(b, instance, synced | dg.AssetSelection.checks_for_assets(*KEYS))
    materialized = {
        (e.asset_key.path[-1], e.partition) for e in second.get_asset_materialization_events()
    }
    assert materialized == {("plans", str(b)), ("subscriptions", str(b))}

    verdicts = {
        (c.asset_key.path[-1], c.check_name): c for c in second.get_asset_check_evaluations()
    }
    failed = {key for key, c in verdicts.items() if not c.passed}
    assert failed == {
        ("customers", "primary_key_unique"),
        ("customers", "row_count_matches_api"),  # A holds one row more than the API
        ("plans", "row_count_matches_api"),  # and one plan fewer
        ("subscriptions", "plan_resolves_to_plans"),
    }
    for key in failed:
        check = verdicts[key]
        assert check.metadata["failing_sites"].value == [a], key
        assert check.description and f"site {a} (" in check.description, key
        assert f"site {b}" not in check.description, key
        assert check.metadata["sites"].value == f"{min(a, b)}, {max(a, b)}", key
    assert verdicts[("customers", "primary_key_unique")].metadata["duplicate_keys"].value == 1
    assert verdicts[("plans", "row_count_matches_api")].severity == dg.AssetCheckSeverity.ERROR
    reference = verdicts[("subscriptions", "plan_resolves_to_plans")]
    assert reference.severity == dg.AssetCheckSeverity.WARN
    assert reference.metadata["unresolved"].value == dangling
    assert reference.metadata["by_site"].value == {str(a): dangling}
