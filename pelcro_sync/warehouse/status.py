"""What `pelcro-sync status` shows: per site and entity, the last runs, the reconcile scan's
standing and the row counts."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql
from sqlalchemy import Connection

from pelcro_sync.entities import ENTITIES
from pelcro_sync.warehouse import scans
from pelcro_sync.warehouse import sql as q
from pelcro_sync.warehouse.schema import RUN_COUNTS, SYNC_RUNS
from pelcro_sync.warehouse.warehouse import Warehouse


@dataclass(frozen=True)
class EntityStatus:
    """One line of `pelcro-sync status`: a site's entity, its last runs and its row counts."""

    site_id: int
    entity: str
    rows: int = 0
    deleted_rows: int = 0
    last_success_at: datetime | None = None
    last_success: Mapping[str, int] | None = None  # counts of the last successful run
    last_run_status: str | None = None
    last_run_at: datetime | None = None
    last_error: str | None = None
    # A successful time-boxed run may leave its scan unfinished: only a complete scan
    # vouches for changes to old records and for deletes.
    last_complete_scan_at: datetime | None = None
    scan_next_page: int | None = None  # the unfinished scan resumes here; None: none in flight
    scan_total: int | None = None  # meta.total at the last complete scan: sizes the one in flight


def last_runs(conn: Connection, *, warehouse: Warehouse) -> list[EntityStatus]:
    """Per site and entity: the last successful run, the latest run, the reconcile scan
    (last complete, in flight) and the live row counts (rows with `_deleted_at` null;
    deleted ones apart), sorted by site then entity."""
    latest = _latest_runs(conn, warehouse=warehouse, succeeded_only=False)
    succeeded = _latest_runs(conn, warehouse=warehouse, succeeded_only=True)
    counts = _row_counts(conn, warehouse=warehouse)
    states = scans.all_states(conn, warehouse=warehouse)
    statuses = []
    for key in sorted(set(latest) | set(succeeded) | set(counts) | set(states)):
        last, ok, scan = latest.get(key), succeeded.get(key), states.get(key)
        rows, deleted = counts.get(key, (0, 0))
        statuses.append(
            EntityStatus(
                site_id=key[0],
                entity=key[1],
                rows=rows,
                deleted_rows=deleted,
                last_success_at=ok["finished_at"] if ok else None,
                last_success={c: ok[c] for c in RUN_COUNTS} if ok else None,
                last_run_status=last["status"] if last else None,
                last_run_at=last["started_at"] if last else None,
                last_error=last["error"] if last else None,
                last_complete_scan_at=scan.last_complete_scan_at if scan else None,
                scan_next_page=scan.scan_next_page if scan else None,
                scan_total=scan.last_complete_scan_total if scan else None,
            )
        )
    return statuses


def _latest_runs(
    conn: Connection, *, warehouse: Warehouse, succeeded_only: bool
) -> dict[tuple[int, str], dict[str, Any]]:
    """(site_id, entity) -> its most recent run (or most recent successful one)."""
    query = sql.SQL(
        "SELECT DISTINCT ON (site_id, entity) * FROM {} {}"
        " ORDER BY site_id, entity, started_at DESC"
    ).format(
        warehouse.table(SYNC_RUNS),
        sql.SQL("WHERE status = 'succeeded'" if succeeded_only else ""),
    )
    return {(r["site_id"], r["entity"]): r for r in q.dicts(conn, query)}


def _row_counts(
    conn: Connection, *, warehouse: Warehouse
) -> dict[tuple[int, str], tuple[int, int]]:
    """(site_id, entity) -> (live rows, deleted rows), in one round trip over every table."""
    listed = sql.SQL("SELECT table_name FROM information_schema.tables WHERE table_schema = %s")
    existing = {r[0] for r in q.rows(conn, listed, (warehouse.schema,))}
    parts = [
        sql.SQL(
            "SELECT site_id, {name}, count(*) FILTER (WHERE _deleted_at IS NULL),"
            " count(*) FILTER (WHERE _deleted_at IS NOT NULL) FROM {table} GROUP BY site_id"
        ).format(name=sql.Literal(e.name), table=warehouse.table(e.name))
        for e in ENTITIES
        if e.name in existing  # a registry ahead of the database must not break `status`
    ]
    if not parts:
        return {}
    found = q.rows(conn, sql.SQL(" UNION ALL ").join(parts))
    return {(r[0], r[1]): (r[2], r[3]) for r in found}
