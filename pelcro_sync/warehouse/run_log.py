"""Reading `_sync_runs` for other tools: the runs that finished since a point in time."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, MetaData, func, select

from pelcro_sync.warehouse.schema import sync_runs_table


def finished_runs(
    conn: Connection,
    *,
    schema: str,
    after: datetime | None,
    settle: timedelta = timedelta(seconds=30),
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Succeeded runs that finished after `after` (all when None) and at least `settle` ago,
    oldest first, at most `limit`: each a dict of the run's columns.

    `settle` leaves the process that ran the sync time to record what it did elsewhere (the
    Dagster asset writes its own materialization right after the run's last commit)."""
    runs = sync_runs_table(MetaData(schema=schema))
    query = (
        select(runs)
        .where(runs.c.status == "succeeded")
        .where(runs.c.finished_at <= func.now() - settle)
        .order_by(runs.c.finished_at, runs.c.run_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(runs.c.finished_at > after)
    return [dict(row._mapping) for row in conn.execute(query)]
