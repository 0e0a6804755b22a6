"""Freshness checks: per entity, every site synced so far succeeded recently enough.

Based on `_sync_state.last_success_at` (any successful run, fast or full) rather than on
materialization times, so it sees each site apart. Entities the fast path covers are due
every fast tick; the others only by the nightly reconcile scan (or webhooks).
"""

from datetime import UTC, datetime, timedelta

import dagster as dg
from sqlalchemy import Connection

from dagster_project.defs.assets import asset_key
from dagster_project.defs.resources import WarehouseResource
from pelcro_sync import config
from pelcro_sync.entities import ENTITIES, Entity
from pelcro_sync.warehouse import queries
from pelcro_sync.warehouse.warehouse import Warehouse


def max_age(entity: Entity) -> timedelta:
    """PELCRO_FRESHNESS_FAST_MINUTES / PELCRO_FRESHNESS_SCAN_HOURS (1 h, 26 h by default);
    read when the code location loads, where a bad value stops it with one line."""
    if entity.newest_first is not None:
        return config.read("PELCRO_FRESHNESS_FAST_MINUTES")
    return config.read("PELCRO_FRESHNESS_SCAN_HOURS")


def stale_sites(
    conn: Connection, *, warehouse: Warehouse, entity: Entity, older_than: timedelta
) -> dict[str, str]:
    """site -> when it last succeeded ("never"), for the sites not fresh enough."""
    successes = queries.last_successes(conn, warehouse=warehouse, entity=entity)
    cutoff = datetime.now(UTC) - older_than
    return {
        str(site): at.isoformat() if at else "never"
        for site, at in successes.items()
        if at is None or at < cutoff
    }


def build_freshness_check(entity: Entity) -> dg.AssetChecksDefinition:
    limit = max_age(entity)

    @dg.asset_check(
        asset=asset_key(entity),
        name="fresh",
        description=f"Every site synced so far succeeded within {limit} "
        f"({'fast path' if entity.newest_first else 'reconcile scan only'}).",
    )
    def _fresh(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        wh = warehouse.warehouse
        with wh.connect() as conn:
            stale = stale_sites(conn, warehouse=wh, entity=entity, older_than=limit)
        return dg.AssetCheckResult(
            passed=not stale,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"stale_sites": stale, "max_age_minutes": limit.total_seconds() / 60},
        )

    return _fresh


FRESHNESS_CHECKS: list[dg.AssetChecksDefinition] = [build_freshness_check(e) for e in ENTITIES]

pelcro_freshness_job = dg.define_asset_job(
    name="pelcro_freshness_job",
    selection=dg.AssetSelection.checks(*FRESHNESS_CHECKS),
    description="Only the freshness checks: no API call, a few warehouse queries.",
)

pelcro_freshness_schedule = dg.ScheduleDefinition(
    name="pelcro_freshness_schedule",
    job=pelcro_freshness_job,
    cron_schedule="*/30 * * * *",
    execution_timezone="UTC",
    description="Evaluates the freshness checks every 30 minutes, apart from any sync run.",
)
