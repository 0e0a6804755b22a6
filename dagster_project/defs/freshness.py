"""Freshness checks: per entity, every site synced so far is fresh enough.

Based on `_sync_state` rather than on materialization times, so it sees each site apart.
Entities the fast path covers are due every fast tick: any successful run counts. The others
are kept fresh only by reconcile scans (or webhooks), and a time-boxed reconcile run that
stopped at its limit succeeds with its scan unfinished: for them only the last *complete*
scan counts, so an unfinished reconcile cannot hide behind successful runs.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg

from dagster_project.defs.assets import asset_key
from dagster_project.defs.checks import failing, site_metadata
from dagster_project.defs.resources import WarehouseResource
from pelcro_sync import config
from pelcro_sync.entities import ENTITIES, Entity
from pelcro_sync.pipeline.plan import format_duration
from pelcro_sync.warehouse import scans
from pelcro_sync.warehouse.state import SyncState


def fast_path_covers(entity: Entity) -> bool:
    return entity.newest_first is not None


def max_age(entity: Entity) -> timedelta:
    """PELCRO_FRESHNESS_FAST_MINUTES / PELCRO_FRESHNESS_SCAN_HOURS (1 h, 26 h by default);
    read when the code location loads, where a bad value stops it with one line."""
    if fast_path_covers(entity):
        return config.read("PELCRO_FRESHNESS_FAST_MINUTES")
    return config.read("PELCRO_FRESHNESS_SCAN_HOURS")


def stale_sites(
    states: dict[int, SyncState], *, entity: Entity, older_than: timedelta, now: datetime
) -> dict[int, str]:
    """site -> why it is not fresh enough, for the sites that are not."""
    cutoff, stale = now - older_than, {}
    for site, found in states.items():
        if fast_path_covers(entity):
            at, what = found.last_success_at, "last successful run"
        elif _unavailable(found):
            continue
        else:
            at, what = found.last_complete_scan_at, "last complete scan"
        if at is None or at < cutoff:
            why = f"{what} {_hours(now - at)} ago" if at else f"no {what} yet"
            if found.scan_next_page is not None:
                why += f"; a scan in flight resumes at page {found.scan_next_page}"
            stale[site] = why
    return stale


def _unavailable(found: SyncState) -> bool:
    """A run succeeded, yet no scan ever completed or checkpointed: the endpoint is not
    offered on this account (`sources`), which is no staleness."""
    return (
        found.last_complete_scan_at is None
        and found.scan_next_page is None
        and found.last_success_at is not None
    )


def _hours(age: timedelta) -> str:
    return f"{age.total_seconds() / 3600:.1f} h"


def scan_ages(states: dict[int, SyncState], *, now: datetime) -> dict[str, float | None]:
    """site -> hours since its last complete scan (None: none yet), for every entity."""
    return {
        str(site): None
        if found.last_complete_scan_at is None
        else round((now - found.last_complete_scan_at).total_seconds() / 3600, 2)
        for site, found in sorted(states.items())
    }


def build_freshness_check(entity: Entity) -> dg.AssetChecksDefinition:
    limit = max_age(entity)
    within = format_duration(limit)
    basis = "successful run" if fast_path_covers(entity) else "complete reconcile scan"

    @dg.asset_check(
        asset=asset_key(entity),
        name="fresh",
        description=f"Every site synced so far had a {basis} within {within} "
        f"({'fast path' if fast_path_covers(entity) else 'reconcile scan only'}).",
    )
    def _fresh(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        wh, now = warehouse.warehouse, datetime.now(UTC)
        with wh.connect() as conn:
            states = scans.entity_states(conn, warehouse=wh, entity=entity)
        stale = stale_sites(states, entity=entity, older_than=limit, now=now)
        return dg.AssetCheckResult(
            passed=not stale,
            severity=dg.AssetCheckSeverity.WARN,
            description=failing(f"no {basis} within {within}", stale),
            metadata={
                "stale_sites": {str(s): why for s, why in sorted(stale.items())},
                "max_age_minutes": limit.total_seconds() / 60,
                "basis": basis,
                "last_complete_scan_hours": scan_ages(states, now=now),
                **site_metadata(stale, checked=states),
            },
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
