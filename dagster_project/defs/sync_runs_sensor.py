"""`pelcro_cli_syncs_sensor`: syncs run outside Dagster (`pelcro-sync sync`, `make demo`, a
cron job) become runless materializations of the entity assets' site partitions, with the
metadata a Dagster run would have recorded, so the UI no longer shows them Missing."""

from datetime import datetime
from typing import Any

import dagster as dg

from dagster_project.defs.assets import asset_key
from dagster_project.defs.partitions import SITE_PARTITIONS, SITES
from dagster_project.defs.resources import WarehouseResource
from pelcro_sync.entities import BY_NAME, get_entity
from pelcro_sync.warehouse import queries
from pelcro_sync.warehouse.run_log import finished_runs

SOURCE = "pelcro-sync outside Dagster"


def run_metadata(run: dict[str, Any], *, rows: int, schema: str) -> dict[str, Any]:
    """The keys `assets.result_metadata` records, from a `_sync_runs` row."""
    duration = (run["finished_at"] - run["started_at"]).total_seconds()
    type_errors = run["type_errors"] or {}
    return {
        "dagster/row_count": rows,
        "dagster/table_name": f"{schema}.{run['entity']}",
        "site_id": run["site_id"],
        "sync_run_id": str(run["run_id"]),
        "mode": run["mode"],
        "status": run["status"],
        "records_read": run["records_read"],
        "inserted": run["inserted"],
        "updated": run["updated"],
        "unchanged": run["unchanged"],
        "deleted": run["deleted"],
        "type_errors": sum(type_errors.values()),
        "type_errors_by_field": dict(type_errors),
        "requests": run["requests"],
        "throttled_429": run["throttled"],
        "retries": run["retries"],
        "duration_s": round(duration, 3),
        "launched_by": SOURCE,
        "host": run["host"] or "",
    }


def _seen_by_dagster(instance: dg.DagsterInstance, run: dict[str, Any]) -> bool:
    """Whether a Dagster run already materialized this sync (its metadata names the run)."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=asset_key(run["entity"]),
            asset_partitions=[str(run["site_id"])],
            after_timestamp=run["started_at"].timestamp(),
        ),
        limit=100,
    ).records
    for record in records:
        value = (
            record.asset_materialization.metadata.get("sync_run_id")
            if record.asset_materialization
            else None
        )
        if value is not None and getattr(value, "value", value) == str(run["run_id"]):
            return True
    return False


@dg.sensor(
    name="pelcro_cli_syncs_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records each sync that succeeded outside Dagster (read from _sync_runs) as a "
    "materialization of its entity asset's site partition, with the same metadata.",
)
def pelcro_cli_syncs_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource
) -> dg.SensorResult | dg.SkipReason:
    after = datetime.fromisoformat(context.cursor) if context.cursor else None
    wh = warehouse.warehouse
    with wh.connect() as conn:
        runs = [r for r in finished_runs(conn, warehouse=wh, after=after) if r["entity"] in BY_NAME]
        if not runs:
            return dg.SkipReason("no sync finished since the last look")
        known = set(context.instance.get_dynamic_partitions(SITES))
        new_sites = sorted({str(r["site_id"]) for r in runs} - known)
        if new_sites:
            # Partitions first; the runs are recorded next tick, once the sites exist.
            return dg.SensorResult(
                dynamic_partitions_requests=[SITE_PARTITIONS.build_add_request(new_sites)]
            )
        events = [
            dg.AssetMaterialization(
                asset_key=asset_key(r["entity"]),
                partition=str(r["site_id"]),
                description=f"synced by {SOURCE} ({r['mode']})",
                metadata=run_metadata(
                    r,
                    schema=wh.schema,
                    rows=queries.live_rows(
                        conn, warehouse=wh, entity=get_entity(r["entity"]), site_id=r["site_id"]
                    ),
                ),
            )
            for r in runs
            if not _seen_by_dagster(context.instance, r)
        ]
    cursor = runs[-1]["finished_at"].isoformat()
    return dg.SensorResult(asset_events=events, cursor=cursor)
