"""The job over every Pelcro asset and the schedule that runs it once per site partition."""

import os

import dagster as dg

from dagster_project.defs.assets import GROUP
from dagster_project.defs.partitions import SITES

DEFAULT_CRON = "0 * * * *"  # hourly

pelcro_sync_job = dg.define_asset_job(
    name="pelcro_sync_job",
    selection=dg.AssetSelection.groups(GROUP),
    description="Sync every Pelcro entity of one site, then run its checks.",
    tags={
        # Run retries, for failures outside a step (a crashed run worker, a lost node); they
        # need `run_retries: {enabled: true}` in the instance's dagster.yaml. Step failures
        # are the assets' RetryPolicy's business, so a failed step does not rerun the run.
        "dagster/max_retries": "2",
        "dagster/retry_strategy": "FROM_FAILURE",
        "dagster/retry_on_asset_or_op_failure": "false",
    },
)


@dg.schedule(
    name="pelcro_sync_schedule",
    job=pelcro_sync_job,
    # An environment variable, not I/O: read when the code location loads.
    cron_schedule=os.environ.get("PELCRO_SYNC_CRON", "").strip() or DEFAULT_CRON,
    execution_timezone="UTC",
    description="One run of pelcro_sync_job per site partition (cron: PELCRO_SYNC_CRON, "
    "hourly by default).",
)
def pelcro_sync_schedule(
    context: dg.ScheduleEvaluationContext,
) -> list[dg.RunRequest] | dg.SkipReason:
    sites = context.instance.get_dynamic_partitions(SITES)
    if not sites:
        return dg.SkipReason("no site partitions yet: pelcro_sites_sensor adds them")
    tick = context.scheduled_execution_time.isoformat() if context.scheduled_execution_time else ""
    return [dg.RunRequest(run_key=f"{site}@{tick}", partition_key=site) for site in sites]
