"""`pelcro_webhooks_sensor`: applies stored webhook events to the entity tables every tick."""

import json

import dagster as dg

from dagster_project.defs.resources import PelcroResource, WarehouseResource
from pelcro_sync.webhooks.apply import ApplyCounts, apply_pending
from pelcro_sync.webhooks.run import default_site

# Events per tick: a tick must end well inside Dagster's 60 s sensor timeout.
TICK_LIMIT = 5_000


@dg.sensor(
    name="pelcro_webhooks_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Applies webhook events stored by `pelcro-sync webhooks serve` to the entity "
    "tables, oldest first; an event older than one already applied to its object is skipped. "
    "Objects naming no site go to PELCRO_SITE_ID when it names one site. Requests no runs.",
)
def pelcro_webhooks_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, pelcro: PelcroResource
) -> dg.SkipReason:
    counts = apply_pending(
        warehouse.warehouse,
        default_site_id=default_site(pelcro.to_settings()),
        limit=TICK_LIMIT,
    )
    totals = _add(json.loads(context.cursor) if context.cursor else {}, counts)
    context.update_cursor(json.dumps(totals, sort_keys=True))
    line = ", ".join(f"{k} {v}" for k, v in counts.as_dict().items())
    if counts.taken:
        context.log.info(f"webhook events this tick: {line}")
    if counts.failed:
        context.log.warning(
            f"{counts.failed} webhook events failed; see _webhook_events.apply_error"
        )
    return dg.SkipReason(f"webhook events this tick: {line}" if counts.taken else "no new events")


def _add(totals: dict[str, int], counts: ApplyCounts) -> dict[str, int]:
    """Running totals since the sensor started, kept in its cursor."""
    return {k: totals.get(k, 0) + v for k, v in counts.as_dict().items()}
