"""The job over every Pelcro asset and its two schedules, one run per site partition each:
the fast path every 15 minutes and the reconcile scan (with delete detection) nightly, the
latter time-boxed to PELCRO_RECONCILE_WINDOW."""

from typing import Any

import dagster as dg

from dagster_project.defs.assets import ENTITY_ASSETS, GROUP, MODE_TAG
from dagster_project.defs.partitions import SITES
from pelcro_sync import config
from pelcro_sync.pipeline.plan import format_duration

pelcro_sync_job = dg.define_asset_job(
    name="pelcro_sync_job",
    selection=dg.AssetSelection.groups(GROUP),
    description="Sync every Pelcro entity of one site, then run its checks; the run tag "
    f"`{MODE_TAG}` picks fast or full (full when absent).",
    tags={
        # Run retries, for failures outside a step (a crashed run worker, a lost node); they
        # need `run_retries: {enabled: true}` in the instance's dagster.yaml. Step failures
        # are the assets' RetryPolicy's business, so a failed step does not rerun the run.
        "dagster/max_retries": "2",
        "dagster/retry_strategy": "FROM_FAILURE",
        "dagster/retry_on_asset_or_op_failure": "false",
    },
)


def _site_runs(
    context: dg.ScheduleEvaluationContext, *, mode: str, run_config: dict[str, Any] | None = None
) -> list[dg.RunRequest] | dg.SkipReason:
    sites = context.instance.get_dynamic_partitions(SITES)
    if not sites:
        return dg.SkipReason("no site partitions yet: pelcro_sites_sensor adds them")
    tick = context.scheduled_execution_time.isoformat() if context.scheduled_execution_time else ""
    return [
        dg.RunRequest(
            run_key=f"{mode}:{site}@{tick}",
            partition_key=site,
            tags={MODE_TAG: mode},
            run_config=run_config or {},
        )
        for site in sites
    ]


def reconcile_run_config() -> dict[str, Any]:
    """Every entity asset's `time_limit`: PELCRO_RECONCILE_WINDOW, read at each tick (a
    malformed value fails the tick with one line)."""
    window = format_duration(config.read("PELCRO_RECONCILE_WINDOW"))
    return {"ops": {a.op.name: {"config": {"time_limit": window}} for a in ENTITY_ASSETS}}


@dg.schedule(
    name="pelcro_sync_schedule",
    job=pelcro_sync_job,
    # Read when the code location loads (config.py validates it; PELCRO_SYNC_CRON is honoured).
    cron_schedule=config.read("PELCRO_FAST_CRON"),
    execution_timezone="UTC",
    description="The fast path, one run per site partition (cron: PELCRO_FAST_CRON, every "
    "15 minutes by default): new and changed records of the entities listed newest first.",
)
def pelcro_sync_schedule(
    context: dg.ScheduleEvaluationContext,
) -> list[dg.RunRequest] | dg.SkipReason:
    return _site_runs(context, mode="fast")


@dg.schedule(
    name="pelcro_reconcile_schedule",
    job=pelcro_sync_job,
    cron_schedule=config.read("PELCRO_RECONCILE_CRON"),
    execution_timezone="UTC",
    description="The reconcile scan, one run per site partition (cron: PELCRO_RECONCILE_CRON, "
    "03:00 UTC by default): every page of every entity, then deletes confirmed and marked. "
    "Each run stops cleanly after PELCRO_RECONCILE_WINDOW (6h by default) and the next one "
    "resumes the scans it left unfinished.",
)
def pelcro_reconcile_schedule(
    context: dg.ScheduleEvaluationContext,
) -> list[dg.RunRequest] | dg.SkipReason:
    return _site_runs(context, mode="full", run_config=reconcile_run_config())
