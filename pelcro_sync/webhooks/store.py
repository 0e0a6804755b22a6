"""Storing a delivery: an `Event` into the warehouse's events table, once by event id."""

from datetime import datetime
from typing import Literal

from sqlalchemy import Connection

from pelcro_sync.entities import get_entity
from pelcro_sync.warehouse import events
from pelcro_sync.warehouse.warehouse import Warehouse
from pelcro_sync.webhooks.events import Event

Recorded = Literal["stored", "duplicate"]


def record_event(
    conn: Connection, event: Event, *, warehouse: Warehouse, received_at: datetime | None = None
) -> Recorded:
    """Insert `event` unless its id is already stored; no commit (the caller commits).

    A redelivery of a stored id changes nothing, whatever its body: the first copy stands.
    """
    sites = event.site_ids
    stored = events.insert_event(
        conn,
        warehouse=warehouse,
        event_id=event.event_id,
        type=event.type,
        created_at=event.created_at,
        entity=get_entity(event.entity) if event.entity else None,
        site_id=sites[0] if sites else None,
        object_id=event.object_id,
        payload=event.payload,
        received_at=received_at,
    )
    return "stored" if stored else "duplicate"
