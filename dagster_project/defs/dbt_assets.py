"""The analytics marts (dbt project `analytics/`) as Dagster assets, below the entity assets.

Every dbt model is an asset `pelcro_marts/<model>`; every dbt source is read as the entity
asset `pelcro/<entity>` that writes it (history tables included, through the sources' meta,
generated from the registry), and every dbt test is an asset check.
"""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from dagster_project.defs.resources import WarehouseResource
from pelcro_sync import config
from pelcro_sync.warehouse.marts import analytics_dir, dbt_env, environment, marts_schema

MARTS_GROUP = "pelcro_marts"
# The marts are rebuilt once a day, once every entity they read has synced since this tick
# (by default the nightly reconcile's): AutomationCondition.on_cron waits for the syncs.
MARTS_CRON = config.read("PELCRO_MARTS_CRON") or config.read("PELCRO_RECONCILE_CRON")
_PROJECT_INPUTS = ("models", "macros", "tests", "dbt_project.yml", "profiles.yml")


def dbt_executable() -> str:
    """The dbt installed next to this Python (the venv's), whether or not it is on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return os.fspath(beside) if beside.is_file() else (shutil.which("dbt") or "dbt")


class PelcroDbtTranslator(DagsterDbtTranslator):
    """Models under `pelcro_marts/`, sources as the entity assets, rebuilt after the syncs."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)  # meta: pelcro/<entity>
        return dg.AssetKey([MARTS_GROUP, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return MARTS_GROUP

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.AutomationCondition | None:
        return dg.AutomationCondition.on_cron(MARTS_CRON, cron_timezone="UTC")


def _stale(project: DbtProject) -> bool:
    """Whether the manifest is missing or older than a file of the project."""
    if not project.manifest_path.is_file():
        return True
    built = project.manifest_path.stat().st_mtime
    for name in _PROJECT_INPUTS:
        path = project.project_dir / name
        files = path.rglob("*") if path.is_dir() else [path]
        if any(f.is_file() and f.stat().st_mtime > built for f in files):
            return True
    return False


def load_project() -> DbtProject:
    """The dbt project, its manifest (re)built by `dbt parse` when missing or stale: the
    code location cannot list the models without it. Parsing connects to no database."""
    folder = analytics_dir()
    project = DbtProject(project_dir=folder, profiles_dir=folder)
    if _stale(project):
        subprocess.run(
            [
                dbt_executable(),
                "parse",
                "--quiet",
                "--project-dir",
                os.fspath(folder),
                "--profiles-dir",
                os.fspath(folder),
                "--target-path",
                os.fspath(project.target_path),
            ],
            check=True,
            cwd=folder,
        )
    return project


PROJECT = load_project()


@dbt_assets(
    manifest=PROJECT.manifest_path,
    project=PROJECT,
    dagster_dbt_translator=PelcroDbtTranslator(),
    name="pelcro_marts",
)
def pelcro_marts(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    """`dbt build` of the selected models and their tests, against the warehouse."""
    wh = warehouse.warehouse
    env = dbt_env(wh.url, schema=wh.schema, marts=marts_schema())
    # The dbt process inherits os.environ when it starts: set for this step only.
    with environment(env):
        yield from dbt.cli(["build"], context=context).stream()


pelcro_marts_job = dg.define_asset_job(
    name="pelcro_marts_job",
    selection=dg.AssetSelection.groups(MARTS_GROUP),
    description="Build every mart (dbt build: models, then their tests).",
)

pelcro_marts_automation = dg.AutomationConditionSensorDefinition(
    name="pelcro_marts_automation",
    target=dg.AssetSelection.groups(MARTS_GROUP),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=f"Rebuilds the marts after the syncs they read (cron {MARTS_CRON}, UTC).",
)


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(
        project_dir=os.fspath(PROJECT.project_dir),
        profiles_dir=os.fspath(PROJECT.profiles_dir),
        dbt_executable=dbt_executable(),
    )
