"""The pelcro-sync code location: `dagster dev` (or workspace.yaml) loads `defs` from here."""

import dagster as dg

from dagster_project.defs.assets import ENTITY_ASSETS
from dagster_project.defs.checks import ENTITY_CHECKS
from dagster_project.defs.dbt_assets import (
    dbt_resource,
    pelcro_marts,
    pelcro_marts_automation,
    pelcro_marts_job,
)
from dagster_project.defs.freshness import (
    FRESHNESS_CHECKS,
    pelcro_freshness_job,
    pelcro_freshness_schedule,
)
from dagster_project.defs.resources import pelcro_from_env, warehouse_from_env
from dagster_project.defs.schedules import (
    pelcro_reconcile_schedule,
    pelcro_sync_job,
    pelcro_sync_schedule,
)
from dagster_project.defs.sensors import pelcro_sites_sensor
from dagster_project.defs.sync_runs_sensor import pelcro_cli_syncs_sensor
from dagster_project.defs.webhook_sensor import pelcro_webhooks_sensor
from pelcro_sync.redact import install_log_redaction

# Every process that loads this code location (code server, run and step workers) masks
# secrets in every log record; deploy/dagster.yaml routes `pelcro_sync`'s into the event log.
install_log_redaction()

defs = dg.Definitions(
    # One process per run, steps in turn: a step's client already keeps 8 requests in flight,
    # which fills any account's budget, while a process per step costs ~5 s of start-up on a
    # 2-core machine (one site, 200 customers: 5 min 24 s multiprocess, 11 s in-process).
    # Parallelism comes from one run per site; those processes share the account's budget
    # through pelcro_sync.api.ratelimit.FileBudget, which the multiprocess executor would use too.
    executor=dg.in_process_executor,
    assets=[*ENTITY_ASSETS, pelcro_marts],
    asset_checks=[*ENTITY_CHECKS, *FRESHNESS_CHECKS],
    jobs=[pelcro_sync_job, pelcro_freshness_job, pelcro_marts_job],
    schedules=[pelcro_sync_schedule, pelcro_reconcile_schedule, pelcro_freshness_schedule],
    sensors=[
        pelcro_sites_sensor,
        pelcro_webhooks_sensor,
        pelcro_cli_syncs_sensor,
        pelcro_marts_automation,
    ],
    resources={
        "pelcro": pelcro_from_env(),
        "warehouse": warehouse_from_env(),
        "dbt": dbt_resource(),
    },
)
