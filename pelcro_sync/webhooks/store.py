"""The events table: each delivery stored once by event id, and the queries over it."""

from datetime import datetime
from functools import lru_cache
from typing import Literal

from sqlalchemy import Connection, MetaData, Table, func
from sqlalchemy.dialects.postgresql import insert

from pelcro_sync.warehouse.schema import webhook_applied_table, webhook_events_table
from pelcro_sync.webhooks.events import Event

Recorded = Literal["stored", "duplicate"]


@lru_cache(maxsize=16)
def tables(schema: str) -> tuple[Table, Table]:
    """(`_webhook_events`, `_webhook_applied`) in `schema`; built once per schema."""
    metadata = MetaData(schema=schema)
    return webhook_events_table(metadata), webhook_applied_table(metadata)


def record_event(
    conn: Connection, event: Event, *, schema: str, received_at: datetime | None = None
) -> Recorded:
    """Insert `event` unless its id is already stored; no commit (the caller commits).

    A redelivery of a stored id changes nothing, whatever its body: the first copy stands.
    """
    events, _ = tables(schema)
    sites = event.site_ids
    now = func.now() if received_at is None else received_at
    statement = (
        insert(events)
        .values(
            event_id=event.event_id,
            type=event.type,
            # Without `created` the arrival time is the best order we have.
            created_at=event.created_at if event.created is not None else now,
            received_at=now,
            entity=event.entity,
            site_id=sites[0] if sites else None,
            object_id=event.object_id,
            payload=event.payload,
        )
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(events.c.event_id)
    )
    inserted = conn.execute(statement).first()
    return "stored" if inserted is not None else "duplicate"
