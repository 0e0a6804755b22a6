"""Webhook deliveries in the warehouse: `_webhook_events` (each stored once by event id) and
`_webhook_applied` (per object, the newest event applied)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb
from sqlalchemy import Connection

from pelcro_sync.entities import Entity
from pelcro_sync.warehouse import sql as q
from pelcro_sync.warehouse.schema import WEBHOOK_APPLIED, WEBHOOK_EVENTS
from pelcro_sync.warehouse.warehouse import Warehouse


@dataclass(frozen=True)
class Pending:
    """A stored event not applied yet, as the applier takes it."""

    event_id: str
    type: str
    created_at: datetime
    payload: dict[str, Any]


def insert_event(
    conn: Connection,
    *,
    warehouse: Warehouse,
    event_id: str,
    type: str,
    created_at: datetime | None,
    entity: Entity | None,
    site_id: int | None,
    object_id: int | None,
    payload: dict[str, Any],
    received_at: datetime | None = None,
) -> bool:
    """Store a delivery unless its id is already stored (then change nothing, whatever its
    body: the first copy stands); whether it was new. No commit (the caller commits).
    `created_at` and `received_at` default to the transaction's clock."""
    query = sql.SQL(
        "INSERT INTO {} (event_id, type, created_at, received_at, entity, site_id, object_id,"
        " payload) VALUES (%(id)s, %(type)s,"
        # Without `created` the arrival time is the best order we have.
        " coalesce(%(created)s, %(received)s, now()), coalesce(%(received)s, now()),"
        " %(entity)s, %(site)s, %(object)s, %(payload)s)"
        " ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
    ).format(warehouse.table(WEBHOOK_EVENTS))
    params = {
        "id": event_id,
        "type": type,
        "created": created_at,
        "received": received_at,
        "entity": entity.name if entity else None,
        "site": site_id,
        "object": object_id,
        "payload": Jsonb(payload),
    }
    return bool(q.rows(conn, query, params))


def count(conn: Connection, *, warehouse: Warehouse) -> int:
    """How many events are stored (a load test's check that none was lost)."""
    query = sql.SQL("SELECT count(*) FROM {}").format(warehouse.table(WEBHOOK_EVENTS))
    return int(q.scalar(conn, query))


def take_pending(conn: Connection, *, warehouse: Warehouse, limit: int) -> list[Pending]:
    """Up to `limit` events neither applied nor failed, oldest `created` first, locked to
    this transaction; events another applier holds are skipped, not waited for."""
    query = sql.SQL(
        "SELECT event_id, type, created_at, payload FROM {}"
        " WHERE applied_at IS NULL AND apply_error IS NULL"
        " ORDER BY created_at, received_at, event_id LIMIT %s FOR UPDATE SKIP LOCKED"
    ).format(warehouse.table(WEBHOOK_EVENTS))
    return [Pending(*row) for row in q.rows(conn, query, (limit,))]


def claim(
    conn: Connection,
    *,
    warehouse: Warehouse,
    site_id: int,
    entity: Entity,
    object_id: int,
    created: datetime,
    event_id: str,
) -> bool:
    """Record the event as the newest applied to its object on `site_id`, unless a newer
    one is; whether it was. The row lock this takes is held to commit, so two appliers
    serialize per object."""
    query = sql.SQL(
        "INSERT INTO {t} AS a (site_id, entity, object_id, last_event_created, last_event_id)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (site_id, entity, object_id) DO UPDATE SET"
        " last_event_created = excluded.last_event_created,"
        " last_event_id = excluded.last_event_id"
        " WHERE excluded.last_event_created >= a.last_event_created RETURNING object_id"
    ).format(t=warehouse.table(WEBHOOK_APPLIED))
    return bool(q.rows(conn, query, (site_id, entity.name, object_id, created, event_id)))


def mark(conn: Connection, *, warehouse: Warehouse, event_id: str, failed: bool, note: str) -> None:
    """Close an event: applied now (with `note`), or failed with `note` as the reason."""
    done = "apply_error = %(note)s" if failed else "apply_note = %(note)s, applied_at = now()"
    query = sql.SQL("UPDATE {} SET {} WHERE event_id = %(id)s").format(
        warehouse.table(WEBHOOK_EVENTS), sql.SQL(done)
    )
    q.run(conn, query, {"note": note, "id": event_id})
