"""Apply stored webhook events to the entity tables, oldest first, never older over newer.

Per (site, entity, object id), `_webhook_applied` keeps the `created` of the newest event
applied. An event older than it is skipped as stale, so out-of-order and repeated delivery
cannot roll a row back. Events with the same `created` second apply in arrival order.
"""

from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import Connection

from pelcro_sync.entities import Entity, get_entity
from pelcro_sync.redact import one_line
from pelcro_sync.transform.normalize import normalize
from pelcro_sync.warehouse import events, history
from pelcro_sync.warehouse.events import Pending
from pelcro_sync.warehouse.upsert import mark_deleted, upsert_batch
from pelcro_sync.warehouse.warehouse import Warehouse
from pelcro_sync.webhooks.events import Event

CHUNK = 200  # events per transaction: a crash loses at most this much progress
# Keys every object carries; an object with nothing else is a bare reference, not a state.
_ENVELOPE_KEYS = {"id", "object", "object_id", "site_id", "site_ids"}


@dataclass
class ApplyCounts:
    """What one `apply_pending` call did with the events it took."""

    applied: int = 0  # written to the entity table (upsert, or `_deleted_at` set)
    deleted: int = 0  # of those, deletion events
    stale: int = 0  # older than an event already applied to the object: skipped
    ignored: int = 0  # no entity (unknown type) or no object id: stored, marked applied
    failed: int = 0  # could not apply; `apply_error` says why, left for a person

    @property
    def taken(self) -> int:
        return self.applied + self.stale + self.ignored + self.failed

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class ApplyError(Exception):
    """An event that cannot be applied as configured; its message goes to `apply_error`."""


def apply_pending(
    warehouse: Warehouse, *, default_site_id: int | None = None, limit: int = 10_000
) -> ApplyCounts:
    """Apply up to `limit` pending events, oldest `created` first; returns the counts.

    `default_site_id` is the site for objects that name none (neither `site_id` nor
    `site_ids`); without it such events fail with a reason and wait for a person.
    Safe to run concurrently: events are taken with `FOR UPDATE SKIP LOCKED`.
    """
    counts = ApplyCounts()
    while counts.taken < limit:
        with warehouse.begin() as conn:
            rows = events.take_pending(
                conn, warehouse=warehouse, limit=min(CHUNK, limit - counts.taken)
            )
            for row in rows:
                outcome, note = _apply_guarded(conn, row, warehouse, default_site_id)
                setattr(counts, outcome, getattr(counts, outcome) + 1)
                if outcome == "applied" and row.type.endswith(".deleted"):
                    counts.deleted += 1
                events.mark(
                    conn,
                    warehouse=warehouse,
                    event_id=row.event_id,
                    failed=outcome == "failed",
                    note=note,
                )
        if len(rows) < CHUNK:
            break
    return counts


def _apply_guarded(
    conn: Connection, row: Pending, warehouse: Warehouse, default_site_id: int | None
) -> tuple[str, str]:
    """Apply one event inside a savepoint, so its failure leaves the others' work intact."""
    try:
        with conn.begin_nested():
            return _apply_one(conn, row, warehouse, default_site_id)
    except Exception as exc:  # any failure is recorded on the event, not raised
        return "failed", one_line(f"{type(exc).__name__}: {exc}", limit=500)


def _apply_one(
    conn: Connection, row: Pending, warehouse: Warehouse, default_site_id: int | None
) -> tuple[str, str]:
    event = Event(row.event_id, row.type, row.created_at.timestamp(), row.payload)
    if event.entity is None:
        return "ignored", f"no entity table for event type {event.type!r}; stored only"
    if event.object_id is None:
        return "ignored", "data.object has no integer id; stored only"
    sites = event.site_ids or ([default_site_id] if default_site_id is not None else [])
    if not sites:
        raise ApplyError("data.object names no site and no default site is set (PELCRO_SITE_ID)")
    entity, object_id = get_entity(event.entity), event.object_id
    # History already newer (a scan saw a later state): superseded, never a version before it.
    fresh = [
        site_id
        for site_id in sites
        if not history.superseded(
            conn,
            entity=entity,
            site_id=site_id,
            record_id=object_id,
            schema=warehouse.schema,
            at=row.created_at,
        )
    ]
    if not fresh:
        return "stale", "superseded: a newer version is held (a newer event or a later scan)"
    won = [
        site_id
        for site_id in fresh
        if events.claim(
            conn,
            warehouse=warehouse,
            site_id=site_id,
            entity=entity,
            object_id=object_id,
            created=row.created_at,
            event_id=event.event_id,
        )
    ]
    if not won:
        return "stale", "a newer event for this object was applied already"
    for site_id in won:
        _write(conn, warehouse, event, entity, site_id, row.created_at)
    return "applied", f"applied to site {', '.join(map(str, won))}"


def _write(
    conn: Connection,
    warehouse: Warehouse,
    event: Event,
    entity: Entity,
    site_id: int,
    created: datetime,
) -> None:
    """Upsert the object (webhook shape: `_raw` holds it until a scan re-reads the REST shape);
    a deletion then sets `_deleted_at` to the event's time."""
    assert event.object_id is not None
    if set(event.object) - _ENVELOPE_KEYS:
        batch = normalize(entity, [event.object])
        upsert_batch(
            conn,
            warehouse=warehouse,
            entity=entity,
            site_id=site_id,
            batch=batch,
            observed_at=created,
        )
    if event.is_deletion:
        mark_deleted(
            conn,
            warehouse=warehouse,
            entity=entity,
            site_id=site_id,
            ids=[event.object_id],
            deleted_at=created,
        )
