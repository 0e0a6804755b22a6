"""Idempotent batch writes: binary COPY into a temp staging table, then one INSERT … ON CONFLICT.

The caller owns the transaction (a page's upsert and its state checkpoint commit together),
so nothing here commits; the SQLAlchemy connection must not be in autocommit mode, because
the staging table empties itself at commit (`ON COMMIT DELETE ROWS`). It is created once per
session rather than per batch: a table per batch costs catalog churn on every page.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from psycopg import sql
from sqlalchemy import Connection

from pelcro_sync.entities import Entity
from pelcro_sync.transform.normalize import NormalizedBatch
from pelcro_sync.warehouse import encode, history
from pelcro_sync.warehouse.sql import driver
from pelcro_sync.warehouse.warehouse import Warehouse


@dataclass(frozen=True)
class UpsertCounts:
    """Rows of one batch (after de-duplicating keys) by what happened to them."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def written(self) -> int:
        return self.inserted + self.updated


def upsert_batch(
    conn: Connection,
    *,
    warehouse: Warehouse,
    entity: Entity,
    site_id: int,
    batch: NormalizedBatch,
    synced_at: datetime | None = None,
    track_seen: bool = False,
    observed_at: datetime | None = None,
) -> UpsertCounts:
    """Insert new rows, update changed ones, leave identical ones untouched; no commit.

    A row counts as changed when any data column or `_raw` differs, or when it was marked
    deleted; only then do its `_synced_at` move and `_deleted_at` clear. Keys repeated in
    the batch keep their last occurrence. `synced_at` defaults to the transaction's `now()`.

    `track_seen` (a reconcile scan) also adds to `_scan_seen` the ids of the rows left
    unchanged, in the same statement. The rows written need no entry: their fresh
    `_synced_at` tells delete detection the scan saw them, so a first load records none.

    Each row written gets a new version in its history table, in the same statement
    (`history.merge_ctes`), from `observed_at` (a webhook's time; default: `_synced_at`).
    """
    encoded = encode.for_stage(entity, batch.frame)
    return merge_encoded(
        conn,
        warehouse=warehouse,
        entity=entity,
        site_id=site_id,
        encoded=encoded,
        synced_at=synced_at,
        track_seen=track_seen,
        observed_at=observed_at,
    )


def merge_encoded(
    conn: Connection,
    *,
    warehouse: Warehouse,
    entity: Entity,
    site_id: int,
    encoded: encode.Encoded,
    synced_at: datetime | None = None,
    track_seen: bool = False,
    observed_at: datetime | None = None,
) -> UpsertCounts:
    """`upsert_batch` of a batch already encoded for the staging table (`encode.for_stage`)."""
    if encoded.rows == 0:
        return UpsertCounts()
    schema = warehouse.schema
    stage = sql.Identifier(f"_stage_{entity.name}")
    with driver(conn).cursor() as cur:
        cur.execute(_stage_ddl(entity, stage))
        with cur.copy(_copy_sql(stage)) as copy:
            copy.write(encoded.payload)
        params = {
            "site_id": site_id,
            "synced_at": synced_at,
            "entity": entity.name,
            "observed_at": observed_at,
        }
        # The merge also empties the staging table (its rows come from a DELETE … RETURNING),
        # so a second batch in one transaction starts clean without another round trip.
        merge = _merge_sql(entity, schema, stage, track_seen=track_seen)
        inserted, written = cur.execute(merge, params).fetchone()  # type: ignore[misc]
    return UpsertCounts(inserted, written - inserted, encoded.rows - written)


def mark_deleted(
    conn: Connection,
    *,
    warehouse: Warehouse,
    entity: Entity,
    site_id: int,
    ids: Iterable[int],
    deleted_at: datetime | None = None,
) -> int:
    """Set `_deleted_at` on the given live rows (already-deleted ones keep their date), and
    close their open versions then."""
    query = sql.SQL(
        "UPDATE {} SET _deleted_at = coalesce(%(at)s::timestamptz, now())"
        " WHERE site_id = %(site_id)s AND id = ANY(%(ids)s::bigint[]) AND _deleted_at IS NULL"
        " RETURNING id"
    ).format(_table(entity, warehouse.schema))
    params = {"at": deleted_at, "site_id": site_id, "ids": [int(i) for i in ids]}
    with driver(conn).cursor() as cur:
        marked = [row[0] for row in cur.execute(query, params)]
    history.close(
        conn, entity=entity, site_id=site_id, ids=marked, schema=warehouse.schema, at=deleted_at
    )
    return len(marked)


def _table(entity: Entity, schema: str) -> sql.Identifier:
    return sql.Identifier(schema, entity.name)


# Rendered statements per (entity, schema): composing them costs more than a page's COPY.
# Process-wide on purpose: a statement is a pure function of its key, immutable, and so
# shared safely by every warehouse and thread (a few dozen keys at most).
_SQL_CACHE: dict[tuple[str, ...], sql.SQL] = {}


def cached_sql(key: tuple[str, ...], build: Callable[[], sql.Composable]) -> sql.SQL:
    """The statement `build` gives, rendered once per `key`."""
    statement = _SQL_CACHE.get(key)
    if statement is None:
        statement = _SQL_CACHE[key] = sql.SQL(build().as_string())
    return statement


def _stage_ddl(entity: Entity, stage: sql.Identifier) -> sql.SQL:
    return cached_sql(
        ("ddl", entity.name, stage.as_string()), lambda: _build_stage_ddl(entity, stage)
    )


def _build_stage_ddl(entity: Entity, stage: sql.Identifier) -> sql.Composed:
    columns: list[sql.Composable] = [sql.SQL("id bigint")]
    columns += [
        sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(encode.STAGE_TYPES[f.kind][0]))
        for f in entity.fields
    ]
    columns += [sql.SQL("_raw text"), sql.SQL("_raw_hash bigint")]
    return sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} ({}) ON COMMIT DELETE ROWS").format(
        stage, sql.SQL(", ").join(columns)
    )


def _copy_sql(stage: sql.Identifier) -> sql.SQL:
    return cached_sql(
        ("copy", stage.as_string()),
        lambda: sql.SQL("COPY pg_temp.{} FROM STDIN (FORMAT BINARY)").format(stage),
    )


def _merge_sql(entity: Entity, schema: str, stage: sql.Identifier, *, track_seen: bool) -> sql.SQL:
    key = ("merge", entity.name, schema, stage.as_string(), str(track_seen))
    return cached_sql(key, lambda: _build_merge_sql(entity, schema, stage, track_seen=track_seen))


def _build_merge_sql(
    entity: Entity, schema: str, stage: sql.Identifier, *, track_seen: bool
) -> sql.Composed:
    names = [*entity.field_names, "_raw"]
    cols = [sql.Identifier(n) for n in names]
    kinds = {f.name: f.kind for f in entity.fields} | {"_raw": "json"}
    picks = [
        sql.SQL("s.{}::jsonb" if kinds[n] == "json" else "s.{}").format(sql.Identifier(n))
        for n in names
    ]
    sets = [sql.SQL("{0} = excluded.{0}").format(c) for c in cols]
    comma = sql.SQL(", ")
    return sql.SQL(
        "WITH s AS (DELETE FROM pg_temp.{stage} RETURNING *),"
        " w AS (INSERT INTO {target} AS t (site_id, id, {cols}, _raw_hash, _synced_at,"
        " _deleted_at) SELECT %(site_id)s::bigint, s.id, {picks}, s._raw_hash,"
        " coalesce(%(synced_at)s::timestamptz, now()), NULL FROM s"
        " ON CONFLICT (site_id, id) DO UPDATE SET {sets}, _raw_hash = excluded._raw_hash,"
        " _synced_at = excluded._synced_at, _deleted_at = NULL"
        " WHERE ({old}) IS DISTINCT FROM ({new}) OR t._deleted_at IS NOT NULL"
        " RETURNING t.*, xmax = 0 AS inserted){rehash}{seen}{history}"
        " SELECT count(*) FILTER (WHERE inserted), count(*) FROM w"
    ).format(
        rehash=_rehash_cte(entity, schema),
        seen=_seen_cte(schema) if track_seen else sql.SQL(""),
        history=history.merge_ctes(entity, schema),
        target=sql.Identifier(schema, entity.name),
        cols=comma.join(cols),
        picks=comma.join(picks),
        stage=stage,
        sets=comma.join(sets),
        old=comma.join(sql.SQL("t.{}").format(c) for c in cols),
        new=comma.join(sql.SQL("excluded.{}").format(c) for c in cols),
    )


def _rehash_cte(entity: Entity, schema: str) -> sql.Composed:
    """The new hash on rows left unchanged whose stored one differs (null after migration
    0007, or `_raw` spelled otherwise): no data column, `_synced_at` or history moves, so
    the next scan skips them (`pelcro_sync.pipeline.unchanged`). The rows `w` wrote already
    carry it; the others `w` only locked, which this statement may then update."""
    return sql.SQL(
        ", rehash AS (UPDATE {} t SET _raw_hash = s._raw_hash FROM s"
        " WHERE t.site_id = %(site_id)s AND t.id = s.id"
        " AND t._raw_hash IS DISTINCT FROM s._raw_hash"
        " AND NOT EXISTS (SELECT 1 FROM w WHERE w.id = s.id))"
    ).format(sql.Identifier(schema, entity.name))


def _seen_cte(schema: str) -> sql.Composed:
    """The unchanged rows' ids into `_scan_seen` (a CTE that modifies data runs even when
    the outer query does not read it)."""
    return sql.SQL(
        ", seen AS (INSERT INTO {} (site_id, entity, id)"
        " SELECT %(site_id)s::bigint, %(entity)s, s.id FROM s"
        " WHERE NOT EXISTS (SELECT 1 FROM w WHERE w.id = s.id) ON CONFLICT DO NOTHING)"
    ).format(sql.Identifier(schema, "_scan_seen"))
