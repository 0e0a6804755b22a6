"""History: every version of every record in `<entity>_history`, written with the current row.

Each write path that changes a current row adds the history rows in the same transaction,
most in the same statement, so history and the current table cannot drift apart:

- the merge (`upsert._build_merge_sql`) appends `merge_ctes`: its `w` (the rows it wrote,
  with their new values) closes their open versions and opens new ones;
- a first load's COPY (`first_load.insert_encoded`) is followed by an INSERT … SELECT of
  the rows it wrote (`first_load_sql`): every row is new, so each gets its first version;
- a tombstone (`upsert.mark_deleted`, reconcile's second-miss mark) closes the open
  version and opens none (`close`);
- a webhook older than the record's newest version is superseded, never applied
  (`superseded`, from `webhooks.apply`).

A version starts at its observation time: the writing transaction's clock for scans (the
row's `_synced_at`), the envelope's `created` for webhooks. A new version never starts at
or before the one it closes (`_STEP` past it when the clocks say otherwise): versions of
a record stay ordered, whichever path and clock wrote them.
"""

from collections.abc import Iterable
from datetime import datetime

from psycopg import sql
from sqlalchemy import Connection

from pelcro_sync.entities import Entity, get_entity
from pelcro_sync.warehouse.schema import history_name

# The least a version lasts when its successor's clock is not after its own start.
_STEP = "interval '1 microsecond'"


def _hist(entity: Entity, schema: str) -> sql.Identifier:
    return sql.Identifier(schema, history_name(entity))


def merge_ctes(entity: Entity, schema: str) -> sql.Composed:
    """CTEs to append to the merge, after its `w` (`RETURNING t.*`, the rows it wrote).

    `closed` ends each written row's open version, `opened` starts the new one. `opened`
    joins `closed`, so a version is inserted only after the one it replaces was closed:
    the partial unique index (one open version per record) holds row by row, whatever
    order Postgres runs the CTEs in. Parameters: `site_id`, `observed_at` (null: the
    row's `_synced_at`)."""
    cols = sql.SQL(", ").join(sql.Identifier(n) for n in (*entity.field_names, "_raw"))
    picks = sql.SQL(", ").join(
        sql.SQL("w.{}").format(sql.Identifier(n)) for n in (*entity.field_names, "_raw")
    )
    at = sql.SQL("coalesce(%(observed_at)s::timestamptz, w._synced_at)")
    return sql.SQL(
        ", closed AS (UPDATE {hist} h SET _valid_to = greatest({at}, h._valid_from + {step})"
        " FROM w WHERE h.site_id = %(site_id)s AND h.id = w.id AND h._valid_to IS NULL"
        " RETURNING h.id, h._valid_to),"
        " opened AS (INSERT INTO {hist} (site_id, id, _valid_from, {cols})"
        " SELECT %(site_id)s::bigint, w.id, coalesce(c._valid_to, {at}), {picks}"
        " FROM w LEFT JOIN closed c ON c.id = w.id)"
    ).format(hist=_hist(entity, schema), at=at, step=sql.SQL(_STEP), cols=cols, picks=picks)


def first_load_sql(entity: Entity, schema: str, *, by_range: bool) -> sql.Composed:
    """The first versions of a first load's rows, just written (`first_load.insert_encoded`):
    copied within Postgres, values as stored, from their `_synced_at`; `_valid_to` null.
    The rows are found by their ids (parameter `ids`), or `by_range`: those of the id range
    `lo`..`hi` written at `now`. Parameters: `site_id` and those."""
    cols = sql.SQL(", ").join(sql.Identifier(n) for n in ("id", *entity.field_names, "_raw"))
    rows = sql.SQL(
        "id BETWEEN %(lo)s AND %(hi)s AND _synced_at = %(now)s"
        if by_range
        else "id = ANY(%(ids)s::bigint[])"
    )
    return sql.SQL(
        "INSERT INTO {hist} (site_id, _valid_from, {cols}) SELECT site_id, _synced_at, {cols}"
        " FROM {table} WHERE site_id = %(site_id)s AND {rows}"
    ).format(
        hist=_hist(entity, schema), table=sql.Identifier(schema, entity.name), cols=cols, rows=rows
    )


def close(
    conn: Connection,
    *,
    entity: Entity | str,
    site_id: int,
    ids: Iterable[int],
    schema: str,
    at: datetime | None = None,
) -> int:
    """Close the open versions of `ids` (deleted records) at `at` (default: the
    transaction's clock), never before they began; opens none. No commit."""
    ent = get_entity(entity) if isinstance(entity, str) else entity
    query = sql.SQL(
        "UPDATE {} SET _valid_to = greatest(coalesce(%(at)s::timestamptz, now()), _valid_from)"
        " WHERE site_id = %(site_id)s AND id = ANY(%(ids)s::bigint[]) AND _valid_to IS NULL"
    ).format(_hist(ent, schema))
    params = {"at": at, "site_id": site_id, "ids": [int(i) for i in ids]}
    if not params["ids"]:
        return 0  # nothing was deleted: no round trip
    return conn.exec_driver_sql(query.as_string(), params).rowcount


def superseded(
    conn: Connection,
    *,
    entity: Entity | str,
    site_id: int,
    record_id: int,
    schema: str,
    at: datetime,
) -> bool:
    """Whether history already holds a version of the record that began, or ended, a
    second or more after `at`: a change observed at `at` is older than what the warehouse
    knows. Webhook times are whole seconds, so within the same second the order is
    unknown: the change applies (as events of one second do, in arrival order)."""
    ent = get_entity(entity) if isinstance(entity, str) else entity
    query = sql.SQL(
        "SELECT EXISTS (SELECT 1 FROM {} WHERE site_id = %(site_id)s AND id = %(id)s"
        " AND greatest(_valid_from, _valid_to) >= %(at)s::timestamptz + interval '1 second')"
    ).format(_hist(ent, schema))
    params = {"site_id": site_id, "id": record_id, "at": at}
    return bool(conn.exec_driver_sql(query.as_string(), params).scalar())
