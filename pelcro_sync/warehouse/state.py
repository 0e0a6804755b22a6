"""Sync bookkeeping in `_sync_runs` and `_sync_state`, written on the caller's connection.

The caller owns the transaction, so a page's upsert and its checkpoint commit together.
"""

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from psycopg import sql
from psycopg.types.json import Jsonb
from sqlalchemy import Connection

from pelcro_sync.entities import Entity
from pelcro_sync.redact import one_line
from pelcro_sync.warehouse import sql as q
from pelcro_sync.warehouse.schema import RUN_COUNTS, RUN_STATUSES, SYNC_RUNS, SYNC_STATE
from pelcro_sync.warehouse.warehouse import Warehouse

MAX_ERROR_CHARS = 1000
STALE_AFTER = timedelta(hours=6)


@dataclass(frozen=True)
class SyncState:
    """Where the sync of one entity on one site stands."""

    site_id: int
    entity: str
    last_complete_scan_at: datetime | None
    last_complete_scan_total: int | None
    scan_started_at: datetime | None
    scan_run_id: str | None
    scan_next_page: int | None
    scan_sort: str | None
    max_id_seen: int | None
    last_success_at: datetime | None
    updated_at: datetime
    drift_baseline: dict[str, list[str]] | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def redact(message: str | None) -> str | None:
    """One line, at most MAX_ERROR_CHARS, secrets masked: callers pass messages already free
    of secrets, and this is the last line of defence before the database."""
    return None if message is None else one_line(message, limit=MAX_ERROR_CHARS)


def start_run(
    conn: Connection, *, warehouse: Warehouse, site_id: int, entity: Entity, mode: str
) -> str:
    """Record a run as 'running'; its id."""
    run_id = str(uuid4())
    query = sql.SQL(
        "INSERT INTO {} (run_id, site_id, entity, mode, started_at, status, host, pid)"
        " VALUES (%s, %s, %s, %s, %s, 'running', %s, %s)"
    ).format(warehouse.table(SYNC_RUNS))
    params = (run_id, site_id, entity.name, mode, _now(), socket.gethostname(), os.getpid())
    q.run(conn, query, params)
    return run_id


def finish_run(
    conn: Connection,
    *,
    warehouse: Warehouse,
    run_id: str | None = None,
    status: str | None = None,
    result: Any = None,
    error: str | None = None,
    type_errors: Mapping[str, int] | None = None,
    finished_at: datetime | None = None,
    **counts: int,
) -> None:
    """Record a run's outcome and counts (RUN_COUNTS names), from keywords or from `result`,
    an object with `run_id`, `status`, `error`, `type_errors` and the count attributes
    (e.g. `sync.EntityResult`). A success also stamps `_sync_state.last_success_at`."""
    if result is not None:
        run_id = run_id or result.run_id
        status = status or result.status
        error = error if error is not None else getattr(result, "error", None)
        type_errors = (
            type_errors if type_errors is not None else getattr(result, "type_errors", None)
        )
        counts = {c: int(getattr(result, c, 0) or 0) for c in RUN_COUNTS} | counts
    unknown = set(counts) - set(RUN_COUNTS)
    if unknown or status not in RUN_STATUSES or not run_id:
        raise ValueError(f"finish_run: bad status {status!r}, run id or counts {sorted(unknown)}")
    finished_at = finished_at or _now()
    values = {
        "status": status,
        "finished_at": finished_at,
        "error": redact(error),
        "type_errors": Jsonb(dict(type_errors)) if type_errors else None,
        **counts,
    }
    query = sql.SQL("UPDATE {} SET {} WHERE run_id = %(run_id)s RETURNING site_id, entity").format(
        warehouse.table(SYNC_RUNS),
        sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in values
        ),
    )
    done = q.rows(conn, query, {**values, "run_id": run_id})
    if done and status == "succeeded":
        site_id, name = done[0]
        success = {"last_success_at": finished_at}
        _upsert_state(conn, warehouse=warehouse, site_id=site_id, entity_name=name, values=success)


def _upsert_state(
    conn: Connection,
    *,
    warehouse: Warehouse,
    site_id: int,
    entity_name: str,
    values: Mapping[str, Any],
    on_update: Mapping[str, sql.Composable] | None = None,
    returning: str | None = None,
) -> Any:
    """Insert or update the state row of (site_id, entity); `on_update` overrides for updates
    (`s` is the row as it was). A value that is a `sql.Composable` is SQL, not a parameter.
    The new value of column `returning`, when one is named."""
    names = ["site_id", "entity", "updated_at", *values]
    params = {"site_id": site_id, "entity": entity_name, "updated_at": _now()}
    given: list[sql.Composable] = [sql.Placeholder(n) for n in names[:3]]
    for name, value in values.items():
        if isinstance(value, sql.Composable):
            given.append(value)
        else:
            given.append(sql.Placeholder(name))
            params[name] = value
    sets: dict[str, sql.Composable] = {
        n: sql.SQL("excluded.{}").format(sql.Identifier(n)) for n in names[2:]
    }
    sets |= dict(on_update or {})
    comma = sql.SQL(", ")
    query = sql.SQL(
        "INSERT INTO {t} AS s ({names}) VALUES ({given})"
        " ON CONFLICT (site_id, entity) DO UPDATE SET {sets}{returning}"
    ).format(
        t=warehouse.table(SYNC_STATE),
        names=comma.join(map(sql.Identifier, names)),
        given=comma.join(given),
        sets=comma.join(sql.SQL("{} = {}").format(sql.Identifier(k), v) for k, v in sets.items()),
        returning=sql.SQL(" RETURNING s.{}").format(sql.Identifier(returning))
        if returning
        else sql.SQL(""),
    )
    if returning:
        return q.scalar(conn, query, params)
    q.run(conn, query, params)
    return None


# A new scan (none in flight, or another order) starts its clock; a resumed one keeps it.
_SCAN_CLOCK = sql.SQL(
    "CASE WHEN s.scan_next_page IS NOT NULL AND s.scan_sort = excluded.scan_sort"
    " THEN coalesce(s.scan_started_at, excluded.scan_started_at)"
    " ELSE excluded.scan_started_at END"
)


def save_progress(
    conn: Connection,
    *,
    warehouse: Warehouse,
    site_id: int,
    entity: Entity,
    run_id: str,
    next_page: int,
    sort: str,
    max_id: int | None = None,
) -> datetime:
    """Checkpoint the scan in flight: the next page to read, in which order, the highest id.
    When the scan started (the database's clock, as for `_synced_at`: delete detection
    compares the two), so that the caller need not read the row back."""
    started: datetime = _upsert_state(
        conn,
        warehouse=warehouse,
        site_id=site_id,
        entity_name=entity.name,
        values={
            "scan_run_id": run_id,
            "scan_next_page": next_page,
            "scan_sort": sort,
            "max_id_seen": max_id,
            "scan_started_at": sql.SQL("now()"),
        },
        on_update={
            "scan_started_at": _SCAN_CLOCK,
            "max_id_seen": sql.SQL("greatest(s.max_id_seen, excluded.max_id_seen)"),
        },
        returning="scan_started_at",
    )
    return started


def complete_scan(
    conn: Connection,
    *,
    warehouse: Warehouse,
    site_id: int,
    entity: Entity,
    total: int | None,
    finished_at: datetime | None = None,
) -> None:
    """Record a scan that reached the last page (`total`: the API's meta.total); none in flight."""
    _upsert_state(
        conn,
        warehouse=warehouse,
        site_id=site_id,
        entity_name=entity.name,
        values={
            "last_complete_scan_at": finished_at or _now(),
            "last_complete_scan_total": total,
            "scan_next_page": None,
            "scan_started_at": None,
            "scan_run_id": None,
        },
    )


def get_state(
    conn: Connection, *, warehouse: Warehouse, site_id: int, entity: Entity
) -> SyncState | None:
    """The state of (site_id, entity); None before its first checkpoint."""
    query = sql.SQL("SELECT * FROM {} WHERE site_id = %s AND entity = %s").format(
        warehouse.table(SYNC_STATE)
    )
    found = q.dicts(conn, query, (site_id, entity.name))
    if not found:
        return None
    row = found[0]
    run_id = row["scan_run_id"]
    return SyncState(**{**row, "scan_run_id": None if run_id is None else str(run_id)})


def fail_stale_runs(
    conn: Connection,
    *,
    warehouse: Warehouse,
    site_id: int | None = None,
    entity: Entity | None = None,
    older_than: timedelta = STALE_AFTER,
) -> int:
    """Mark as failed the 'running' runs whose process is gone (same host) or that started
    more than `older_than` ago; how many. Narrow to one site and/or entity when given."""
    runs = warehouse.table(SYNC_RUNS)
    query = sql.SQL(
        "SELECT run_id, started_at, host, pid FROM {} WHERE status = 'running'"
        " AND (%(site)s::bigint IS NULL OR site_id = %(site)s)"
        " AND (%(entity)s::text IS NULL OR entity = %(entity)s)"
    ).format(runs)
    found = q.rows(conn, query, {"site": site_id, "entity": entity.name if entity else None})
    fail = sql.SQL(
        "UPDATE {} SET status = 'failed', finished_at = %s, error = %s"
        " WHERE run_id = %s AND status = 'running'"
    ).format(runs)
    now, host = _now(), socket.gethostname()
    stale = 0
    for run_id, started_at, run_host, pid in found:
        if now - started_at > older_than:
            reason = f"abandoned: still 'running' after {older_than}"
        elif run_host == host and pid not in (None, os.getpid()) and not _alive(pid):
            reason = f"abandoned: process {pid} on {host} is gone"
        else:
            continue
        q.run(conn, fail, (now, reason, run_id))
        stale += 1
    return stale


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def remember_drift(
    conn: Connection,
    *,
    warehouse: Warehouse,
    site_id: int,
    entity: Entity,
    known: Mapping[str, list[str]] | None,
    new: set[str],
    missing: set[str],
) -> None:
    """Add the fields a run saw undeclared or absent to the baseline `known` (as the run
    read it at its start: runs of one site and entity never overlap), so each is reported
    once, when it first appears, rather than on every run."""
    known = known or {}
    merged = {
        "new": sorted(set(known.get("new", ())) | new),
        "missing": sorted(set(known.get("missing", ())) | missing),
    }
    if merged != known:
        _upsert_state(
            conn,
            warehouse=warehouse,
            site_id=site_id,
            entity_name=entity.name,
            values={"drift_baseline": Jsonb(merged)},
        )
