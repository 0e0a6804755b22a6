"""Sync bookkeeping in `_sync_runs` and `_sync_state`, written on the caller's connection.

The caller owns the transaction, so a page's upsert and its checkpoint commit together.
"""

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from uuid import uuid4

from sqlalchemy import Connection, MetaData, Table, case, func, select, text
from sqlalchemy.dialects.postgresql import insert

from pelcro_sync.entities import ENTITIES
from pelcro_sync.redact import one_line
from pelcro_sync.warehouse.schema import RUN_COUNTS, RUN_STATUSES, sync_runs_table, sync_state_table

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


@lru_cache(maxsize=32)
def _tables(schema: str) -> tuple[Table, Table]:
    metadata = MetaData(schema=schema)
    return sync_runs_table(metadata), sync_state_table(metadata)


def _now() -> datetime:
    return datetime.now(UTC)


def redact(message: str | None) -> str | None:
    """One line, at most MAX_ERROR_CHARS, secrets masked: callers pass messages already free
    of secrets, and this is the last line of defence before the database."""
    return None if message is None else one_line(message, limit=MAX_ERROR_CHARS)


def start_run(conn: Connection, *, schema: str, site_id: int, entity: str, mode: str) -> str:
    """Record a run as 'running'; its id."""
    runs, _ = _tables(schema)
    run_id = str(uuid4())
    conn.execute(
        runs.insert().values(
            run_id=run_id,
            site_id=site_id,
            entity=entity,
            mode=mode,
            started_at=_now(),
            status="running",
            host=socket.gethostname(),
            pid=os.getpid(),
        )
    )
    return run_id


def finish_run(
    conn: Connection,
    *,
    schema: str,
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
    runs, _ = _tables(schema)
    finished_at = finished_at or _now()
    row = conn.execute(
        runs.update()
        .where(runs.c.run_id == run_id)
        .values(
            status=status,
            finished_at=finished_at,
            error=redact(error),
            type_errors=dict(type_errors) if type_errors else None,
            **counts,
        )
        .returning(runs.c.site_id, runs.c.entity)
    ).first()
    if row is not None and status == "succeeded":
        _upsert_state(
            conn,
            schema=schema,
            site_id=row.site_id,
            entity=row.entity,
            values={"last_success_at": finished_at},
        )


def _upsert_state(
    conn: Connection,
    *,
    schema: str,
    site_id: int,
    entity: str,
    values: Mapping[str, Any],
    on_update: Mapping[str, Any] | None = None,
) -> None:
    """Insert or update the state row of (site_id, entity); `on_update` overrides for updates."""
    _, state = _tables(schema)
    stmt = insert(state).values(site_id=site_id, entity=entity, updated_at=_now(), **values)
    updates = {k: stmt.excluded[k] for k in values} | dict(on_update or {})
    updates["updated_at"] = stmt.excluded.updated_at
    conn.execute(stmt.on_conflict_do_update(index_elements=["site_id", "entity"], set_=updates))


def save_progress(
    conn: Connection,
    *,
    schema: str,
    site_id: int,
    entity: str,
    run_id: str,
    next_page: int,
    sort: str,
    max_id: int | None = None,
) -> None:
    """Checkpoint the scan in flight: the next page to read, in which order, the highest id."""
    _, state = _tables(schema)
    excluded = insert(state).excluded
    # A new scan (none in flight, or another order) starts its clock; a resumed one keeps it.
    same_scan = (state.c.scan_next_page.is_not(None)) & (state.c.scan_sort == excluded.scan_sort)
    _upsert_state(
        conn,
        schema=schema,
        site_id=site_id,
        entity=entity,
        values={
            "scan_run_id": run_id,
            "scan_next_page": next_page,
            "scan_sort": sort,
            "max_id_seen": max_id,
            # The database's clock, as for `_synced_at`: delete detection compares the two.
            "scan_started_at": func.now(),
        },
        on_update={
            "scan_started_at": case(
                (same_scan, func.coalesce(state.c.scan_started_at, excluded.scan_started_at)),
                else_=excluded.scan_started_at,
            ),
            "max_id_seen": func.greatest(state.c.max_id_seen, excluded.max_id_seen),
        },
    )


def complete_scan(
    conn: Connection,
    *,
    schema: str,
    site_id: int,
    entity: str,
    total: int | None,
    finished_at: datetime | None = None,
) -> None:
    """Record a scan that reached the last page (`total`: the API's meta.total); none in flight."""
    _upsert_state(
        conn,
        schema=schema,
        site_id=site_id,
        entity=entity,
        values={
            "last_complete_scan_at": finished_at or _now(),
            "last_complete_scan_total": total,
            "scan_next_page": None,
            "scan_started_at": None,
            "scan_run_id": None,
        },
    )


def get_state(conn: Connection, *, schema: str, site_id: int, entity: str) -> SyncState | None:
    """The state of (site_id, entity); None before its first checkpoint."""
    _, state = _tables(schema)
    row = conn.execute(
        select(state).where(state.c.site_id == site_id, state.c.entity == entity)
    ).first()
    return SyncState(**row._asdict()) if row is not None else None


def fail_stale_runs(
    conn: Connection,
    *,
    schema: str,
    site_id: int | None = None,
    entity: str | None = None,
    older_than: timedelta = STALE_AFTER,
) -> int:
    """Mark as failed the 'running' runs whose process is gone (same host) or that started
    more than `older_than` ago; how many. Narrow to one site and/or entity when given."""
    runs, _ = _tables(schema)
    query = select(runs.c.run_id, runs.c.started_at, runs.c.host, runs.c.pid).where(
        runs.c.status == "running"
    )
    if site_id is not None:
        query = query.where(runs.c.site_id == site_id)
    if entity is not None:
        query = query.where(runs.c.entity == entity)
    now, host = _now(), socket.gethostname()
    stale = 0
    for row in conn.execute(query):
        if now - row.started_at > older_than:
            reason = f"abandoned: still 'running' after {older_than}"
        elif row.host == host and row.pid not in (None, os.getpid()) and not _alive(row.pid):
            reason = f"abandoned: process {row.pid} on {host} is gone"
        else:
            continue
        conn.execute(
            runs.update()
            .where(runs.c.run_id == row.run_id, runs.c.status == "running")
            .values(status="failed", finished_at=now, error=reason)
        )
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


def last_runs(conn: Connection, *, schema: str) -> list[EntityStatus]:
    """Per site and entity: the last successful run, the latest run and the live row counts
    (rows with `_deleted_at` null; deleted ones apart), sorted by site then entity."""
    runs, _ = _tables(schema)
    latest = _latest_runs(conn, runs=runs, succeeded_only=False)
    succeeded = _latest_runs(conn, runs=runs, succeeded_only=True)
    counts = _row_counts(conn, schema=schema)
    statuses = []
    for key in sorted(set(latest) | set(succeeded) | set(counts)):
        last, ok = latest.get(key), succeeded.get(key)
        rows, deleted = counts.get(key, (0, 0))
        statuses.append(
            EntityStatus(
                site_id=key[0],
                entity=key[1],
                rows=rows,
                deleted_rows=deleted,
                last_success_at=ok.finished_at if ok else None,
                last_success={c: getattr(ok, c) for c in RUN_COUNTS} if ok else None,
                last_run_status=last.status if last else None,
                last_run_at=last.started_at if last else None,
                last_error=last.error if last else None,
            )
        )
    return statuses


def _latest_runs(conn: Connection, *, runs: Table, succeeded_only: bool) -> dict[tuple, Any]:
    """(site_id, entity) -> its most recent run (or most recent successful one)."""
    rank = (
        func.row_number()
        .over(partition_by=(runs.c.site_id, runs.c.entity), order_by=runs.c.started_at.desc())
        .label("rank")
    )
    inner = select(runs, rank)
    if succeeded_only:
        inner = inner.where(runs.c.status == "succeeded")
    ranked = inner.subquery()
    rows = conn.execute(select(ranked).where(ranked.c.rank == 1))
    return {(r.site_id, r.entity): r for r in rows}


def _row_counts(conn: Connection, *, schema: str) -> dict[tuple[int, str], tuple[int, int]]:
    """(site_id, entity) -> (live rows, deleted rows), in one round trip over every table."""
    existing = set(
        conn.execute(
            text("select table_name from information_schema.tables where table_schema = :s"),
            {"s": schema},
        ).scalars()
    )
    parts = [
        f"select site_id, '{e.name}' as entity, count(*) filter (where _deleted_at is null),"
        f' count(*) filter (where _deleted_at is not null) from "{schema}"."{e.name}"'
        " group by site_id"
        for e in ENTITIES
        if e.name in existing  # a registry ahead of the database must not break `status`
    ]
    if not parts:
        return {}
    rows = conn.execute(text(" union all ".join(parts)))
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def remember_drift(
    conn: Connection, *, schema: str, site_id: int, entity: str, new: set[str], missing: set[str]
) -> None:
    """Add the fields a run saw undeclared or absent to the baseline, so each is reported
    once, when it first appears, rather than on every run."""
    current = get_state(conn, schema=schema, site_id=site_id, entity=entity)
    known = (current.drift_baseline if current else None) or {}
    merged = {
        "new": sorted(set(known.get("new", ())) | new),
        "missing": sorted(set(known.get("missing", ())) | missing),
    }
    if merged != known:
        _upsert_state(
            conn,
            schema=schema,
            site_id=site_id,
            entity=entity,
            values={"drift_baseline": merged},
        )
