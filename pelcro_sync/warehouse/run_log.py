"""Reading `_sync_runs` for other tools: the runs that finished since a point in time."""

from datetime import datetime, timedelta
from typing import Any

from psycopg import sql
from sqlalchemy import Connection

from pelcro_sync.warehouse import sql as q
from pelcro_sync.warehouse.schema import SYNC_RUNS
from pelcro_sync.warehouse.warehouse import Warehouse


def finished_runs(
    conn: Connection,
    *,
    warehouse: Warehouse,
    after: datetime | None,
    settle: timedelta = timedelta(seconds=30),
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Succeeded runs that finished after `after` (all when None) and at least `settle` ago,
    oldest first, at most `limit`: each a dict of the run's columns.

    `settle` leaves the process that ran the sync time to record what it did elsewhere (the
    Dagster asset writes its own materialization right after the run's last commit)."""
    query = sql.SQL(
        "SELECT * FROM {} WHERE status = 'succeeded' AND finished_at <= now() - %(settle)s"
        " AND (%(after)s::timestamptz IS NULL OR finished_at > %(after)s)"
        " ORDER BY finished_at, run_id LIMIT %(limit)s"
    ).format(warehouse.table(SYNC_RUNS))
    return q.dicts(conn, query, {"settle": settle, "after": after, "limit": limit})
