"""The stored `_raw_hash` of records, to tell which of a scan's records are unchanged."""

from psycopg import sql
from sqlalchemy import Connection

from pelcro_sync.entities import Entity
from pelcro_sync.warehouse import sql as q
from pelcro_sync.warehouse.upsert import cached_sql
from pelcro_sync.warehouse.warehouse import Warehouse


def unchanged_ids(
    conn: Connection,
    *,
    warehouse: Warehouse,
    entity: Entity,
    site_id: int,
    ids: list[int],
    hashes: list[int],
) -> list[int]:
    """Of `ids` (unique), those whose live row's `_raw_hash` is the paired one in `hashes`.

    A deleted row never matches: the record is back, and the merge must revive it. A null
    hash (a row written before migration 0007) never matches either."""
    if not ids:
        return []
    query = cached_sql(
        ("unchanged", entity.name, warehouse.schema),
        lambda: sql.SQL(
            "SELECT t.id FROM unnest(%(ids)s::bigint[], %(hashes)s::bigint[]) AS p(id, h)"
            " JOIN {} t ON t.site_id = %(site_id)s AND t.id = p.id"
            " WHERE t._raw_hash = p.h AND t._deleted_at IS NULL"
        ).format(warehouse.table(entity.name)),
    )
    params = {"ids": ids, "hashes": hashes, "site_id": site_id}
    return [row[0] for row in q.rows(conn, query, params)]
