"""Delete detection's SQL: the ids a scan saw, the candidates it left, the rows marked deleted.

A scan knows what it saw without holding ids in memory, and across a resume: a row it
wrote carries a `_synced_at` from after the scan started, and the ids of rows it left
unchanged go to `_scan_seen` in the same transaction (`upsert_batch(track_seen=True)`).
The decisions (which candidates, how many, confirmed how) are `pelcro_sync.pipeline.reconcile`'s.
"""

from datetime import UTC, datetime

from psycopg import sql
from sqlalchemy import Connection

from pelcro_sync.entities import Entity
from pelcro_sync.warehouse import history
from pelcro_sync.warehouse import sql as q
from pelcro_sync.warehouse.schema import DELETE_CANDIDATES, SCAN_SEEN
from pelcro_sync.warehouse.warehouse import Warehouse

MISSES_TO_CONFIRM = 2
_INFINITY = datetime.max.replace(tzinfo=UTC)  # a scan that wrote nothing saw nothing

# Live rows the scan did not write (those it wrote are synced since it started) ...
_OLDER = sql.SQL("t.site_id = %(s)s AND t._deleted_at IS NULL AND t._synced_at < %(since)s")
# ... and, of those, the ones it did not see unchanged either.
_UNSEEN = sql.SQL(
    "{older} AND NOT EXISTS (SELECT 1 FROM {seen} x"
    " WHERE x.site_id = %(s)s AND x.entity = %(e)s AND x.id = t.id)"
)


def _key(site_id: int, entity: Entity) -> dict[str, object]:
    return {"s": site_id, "e": entity.name}


def clear_seen(conn: Connection, *, warehouse: Warehouse, site_id: int, entity: Entity) -> None:
    """Forget the previous scan's seen ids: called with the first page of a new scan."""
    query = sql.SQL("DELETE FROM {} WHERE site_id = %(s)s AND entity = %(e)s")
    q.run(conn, query.format(warehouse.table(SCAN_SEEN)), _key(site_id, entity))


def register_candidates(
    conn: Connection, *, warehouse: Warehouse, site_id: int, entity: Entity, since: datetime | None
) -> bool:
    """After a complete scan that started at `since` (None: wrote nothing): live rows it
    did not see become (or stay) candidates; the other candidates are dropped. False when
    the scan wrote every live row (a first load), so that there is no candidate."""
    cand, seen = warehouse.table(DELETE_CANDIDATES), warehouse.table(SCAN_SEEN)
    table = warehouse.table(entity.name)
    params = {**_key(site_id, entity), "since": since or _INFINITY}
    unseen = _UNSEEN.format(older=_OLDER, seen=seen)
    any_older = sql.SQL("SELECT EXISTS (SELECT 1 FROM {} t WHERE {})").format(table, _OLDER)
    if not q.scalar(conn, any_older, params):
        # the scan wrote every live row (a first load): none can be a candidate
        drop = sql.SQL("DELETE FROM {} WHERE site_id = %(s)s AND entity = %(e)s").format(cand)
        q.run(conn, drop, params)
        return False
    # Both tables were just filled: with stale statistics the planner picks a nested loop
    # for the anti-joins below, quadratic in the rows (12 s against 8 ms at 12k rows). Ruled
    # out rather than fixed by ANALYZE, which cost an unchanged reconcile most of its time:
    # ANALYZE of the shared `_scan_seen` locks it until commit, so entities synced at once
    # queued for each other (30 s of 41 over 36 entities and sites).
    q.run(conn, sql.SQL("SET LOCAL enable_nestloop = off"))
    stale = sql.SQL(
        "DELETE FROM {cand} c WHERE c.site_id = %(s)s AND c.entity = %(e)s AND NOT EXISTS ("
        " SELECT 1 FROM {table} t WHERE t.id = c.id AND {unseen})"
    )
    q.run(conn, stale.format(cand=cand, table=table, unseen=unseen), params)
    missed = sql.SQL(
        "INSERT INTO {cand} (site_id, entity, id, first_missed_at, misses)"
        " SELECT %(s)s, %(e)s, t.id, now(), 1 FROM {table} t WHERE {unseen}"
        " ON CONFLICT (site_id, entity, id) DO UPDATE SET misses = excluded.misses + {cand}.misses"
    )
    q.run(conn, missed.format(cand=cand, table=table, unseen=unseen), params)
    return True


def counts(
    conn: Connection, *, warehouse: Warehouse, site_id: int, entity: Entity
) -> tuple[int, int]:
    """(candidates, live rows) of one site's entity."""
    query = sql.SQL(
        "SELECT (SELECT count(*) FROM {} WHERE site_id = %(s)s AND entity = %(e)s),"
        " (SELECT count(*) FROM {} WHERE site_id = %(s)s AND _deleted_at IS NULL)"
    ).format(warehouse.table(DELETE_CANDIDATES), warehouse.table(entity.name))
    candidates, live = q.one(conn, query, _key(site_id, entity))
    return int(candidates), int(live)


def candidate_ids(
    conn: Connection, *, warehouse: Warehouse, site_id: int, entity: Entity, limit: int
) -> list[int]:
    """The first `limit` candidates by id."""
    query = sql.SQL(
        "SELECT id FROM {} WHERE site_id = %(s)s AND entity = %(e)s ORDER BY id LIMIT %(n)s"
    ).format(warehouse.table(DELETE_CANDIDATES))
    return [int(r[0]) for r in q.rows(conn, query, {**_key(site_id, entity), "n": limit})]


def drop_candidates(
    conn: Connection, *, warehouse: Warehouse, site_id: int, entity: Entity, ids: list[int]
) -> None:
    """Forget these candidates (confirmed, or back in the API)."""
    query = sql.SQL(
        "DELETE FROM {} WHERE site_id = %(s)s AND entity = %(e)s AND id = ANY(%(ids)s::bigint[])"
    ).format(warehouse.table(DELETE_CANDIDATES))
    q.run(conn, query, {**_key(site_id, entity), "ids": ids})


def missed_twice(conn: Connection, *, warehouse: Warehouse, site_id: int, entity: Entity) -> int:
    """How many candidates two complete scans in a row missed."""
    query = sql.SQL(
        "SELECT count(*) FROM {} WHERE site_id = %(s)s AND entity = %(e)s AND misses >= %(m)s"
    ).format(warehouse.table(DELETE_CANDIDATES))
    return int(q.scalar(conn, query, {**_key(site_id, entity), "m": MISSES_TO_CONFIRM}))


def mark_missed_twice(
    conn: Connection, *, warehouse: Warehouse, site_id: int, entity: Entity
) -> int:
    """Mark, in SQL (no ids in memory), the candidates two complete scans in a row missed."""
    cand = warehouse.table(DELETE_CANDIDATES)
    params = {**_key(site_id, entity), "m": MISSES_TO_CONFIRM}
    mark = sql.SQL(
        "UPDATE {table} t SET _deleted_at = now() FROM {cand} c"
        " WHERE c.site_id = %(s)s AND c.entity = %(e)s AND c.misses >= %(m)s"
        " AND t.site_id = %(s)s AND t.id = c.id AND t._deleted_at IS NULL RETURNING t.id"
    ).format(table=warehouse.table(entity.name), cand=cand)
    marked = [row[0] for row in q.rows(conn, mark, params)]
    history.close(conn, entity=entity, site_id=site_id, ids=marked, schema=warehouse.schema)
    done = sql.SQL(
        "DELETE FROM {} WHERE site_id = %(s)s AND entity = %(e)s AND misses >= %(m)s"
    ).format(cand)
    q.run(conn, done, params)
    return len(marked)


def candidate_ranks(
    conn: Connection, *, warehouse: Warehouse, site_id: int, entity: Entity, limit: int
) -> list[tuple[int, int]]:
    """The first `limit` candidates by id, each with the number of live rows below it that
    are not candidates: where it would sit in the list in id order, were it there."""
    query = sql.SQL(
        "WITH c AS (SELECT id FROM {cand} WHERE site_id = %(s)s AND entity = %(e)s),"
        " r AS (SELECT t.id, c.id IS NOT NULL AS is_cand, count(*) FILTER (WHERE c.id IS NULL)"
        " OVER (ORDER BY t.id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS below"
        " FROM {table} t LEFT JOIN c ON c.id = t.id"
        " WHERE t.site_id = %(s)s AND t._deleted_at IS NULL)"
        " SELECT id, coalesce(below, 0) FROM r WHERE is_cand ORDER BY id LIMIT %(n)s"
    ).format(cand=warehouse.table(DELETE_CANDIDATES), table=warehouse.table(entity.name))
    found = q.rows(conn, query, {**_key(site_id, entity), "n": limit})
    return [(int(i), int(below)) for i, below in found]


def live_ids_between(
    conn: Connection,
    *,
    warehouse: Warehouse,
    site_id: int,
    entity: Entity,
    low: int | None,
    high: int | None,
    listed: list[int],
) -> list[int]:
    """Live rows with an id in [low, high] (None: unbounded) that are not in `listed`: those
    a list page covering that range in id order no longer holds."""
    query = sql.SQL(
        "SELECT id FROM {} WHERE site_id = %(s)s AND _deleted_at IS NULL"
        " AND (%(lo)s::bigint IS NULL OR id >= %(lo)s) AND (%(hi)s::bigint IS NULL OR id <= %(hi)s)"
        " AND NOT (id = ANY(%(listed)s::bigint[])) ORDER BY id"
    ).format(warehouse.table(entity.name))
    params = {**_key(site_id, entity), "lo": low, "hi": high, "listed": listed}
    return [int(r[0]) for r in q.rows(conn, query, params)]


def add_seen(
    conn: Connection, *, warehouse: Warehouse, site_id: int, entity: Entity, ids: list[int]
) -> None:
    """Note ids the scan saw unchanged without merging them (`pelcro_sync.pipeline.unchanged`),
    as the merge's `track_seen` does for the rows it leaves unchanged."""
    query = sql.SQL(
        "INSERT INTO {} (site_id, entity, id) SELECT %(s)s, %(e)s, unnest(%(ids)s::bigint[])"
        " ON CONFLICT DO NOTHING"
    ).format(warehouse.table(SCAN_SEEN))
    q.run(conn, query, {**_key(site_id, entity), "ids": ids})
