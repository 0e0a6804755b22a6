"""Apply stored webhook events to the entity tables, oldest first, never older over newer.

Per (site, entity, object id), `_webhook_applied` keeps the `created` of the newest event
applied. An event older than it is skipped as stale, so out-of-order and repeated delivery
cannot roll a row back. Events with the same `created` second apply in arrival order.
"""

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, select, update
from sqlalchemy.dialects.postgresql import insert

from pelcro_sync.entities import get_entity
from pelcro_sync.redact import one_line
from pelcro_sync.transform.normalize import normalize
from pelcro_sync.warehouse import history
from pelcro_sync.warehouse.upsert import mark_deleted, upsert_batch
from pelcro_sync.webhooks.events import Event
from pelcro_sync.webhooks.store import tables

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
    engine: Engine, *, schema: str, default_site_id: int | None = None, limit: int = 10_000
) -> ApplyCounts:
    """Apply up to `limit` pending events, oldest `created` first; returns the counts.

    `default_site_id` is the site for objects that name none (neither `site_id` nor
    `site_ids`); without it such events fail with a reason and wait for a person.
    Safe to run concurrently: events are taken with `FOR UPDATE SKIP LOCKED`.
    """
    counts = ApplyCounts()
    while counts.taken < limit:
        with engine.begin() as conn:
            rows = _take(conn, schema=schema, n=min(CHUNK, limit - counts.taken))
            for row in rows:
                outcome, note = _apply_guarded(conn, row, schema, default_site_id)
                setattr(counts, outcome, getattr(counts, outcome) + 1)
                if outcome == "applied" and row.type.endswith(".deleted"):
                    counts.deleted += 1
                _mark(conn, schema, row.event_id, outcome, note)
        if len(rows) < CHUNK:
            break
    return counts


def _take(conn: Connection, *, schema: str, n: int) -> list[Row[Any]]:
    events, _ = tables(schema)
    query = (
        select(events.c.event_id, events.c.type, events.c.created_at, events.c.payload)
        .where(events.c.applied_at.is_(None), events.c.apply_error.is_(None))
        .order_by(events.c.created_at, events.c.received_at, events.c.event_id)
        .limit(n)
        .with_for_update(skip_locked=True)
    )
    return list(conn.execute(query))


def _apply_guarded(
    conn: Connection, row: Row[Any], schema: str, default_site_id: int | None
) -> tuple[str, str]:
    """Apply one event inside a savepoint, so its failure leaves the others' work intact."""
    try:
        with conn.begin_nested():
            return _apply_one(conn, row, schema, default_site_id)
    except Exception as exc:  # any failure is recorded on the event, not raised
        return "failed", one_line(f"{type(exc).__name__}: {exc}", limit=500)


def _apply_one(
    conn: Connection, row: Row[Any], schema: str, default_site_id: int | None
) -> tuple[str, str]:
    event = Event(row.event_id, row.type, row.created_at.timestamp(), row.payload)
    if event.entity is None:
        return "ignored", f"no entity table for event type {event.type!r}; stored only"
    if event.object_id is None:
        return "ignored", "data.object has no integer id; stored only"
    sites = event.site_ids or ([default_site_id] if default_site_id is not None else [])
    if not sites:
        raise ApplyError("data.object names no site and no default site is set (PELCRO_SITE_ID)")
    # History already newer (a scan saw a later state): superseded, never a version before it.
    fresh = [s for s in sites if not history.superseded(conn, entity=event.entity, site_id=s,
             record_id=event.object_id, schema=schema, at=row.created_at)]  # fmt: skip
    won = [s for s in fresh if _claim(conn, schema, event, s, row.created_at)]
    if not won and not fresh:
        return "stale", "superseded: a newer version is held (a newer event or a later scan)"
    if not won:
        return "stale", "a newer event for this object was applied already"
    for site_id in won:
        _write(conn, schema, event, site_id, row.created_at)
    return "applied", f"applied to site {', '.join(map(str, won))}"


def _claim(conn: Connection, schema: str, event: Event, site_id: int, created: datetime) -> bool:
    """Record `event` as the newest applied to its object on `site_id`, unless a newer one is.

    The row lock this takes is held to commit, so two appliers serialize per object.
    """
    _, applied = tables(schema)
    values = insert(applied).values(
        site_id=site_id, entity=event.entity, object_id=event.object_id,
        last_event_created=created, last_event_id=event.event_id,
    )  # fmt: skip
    statement = values.on_conflict_do_update(
        index_elements=["site_id", "entity", "object_id"],
        set_={
            "last_event_created": values.excluded.last_event_created,
            "last_event_id": values.excluded.last_event_id,
        },
        where=values.excluded.last_event_created >= applied.c.last_event_created,
    ).returning(applied.c.object_id)
    return conn.execute(statement).first() is not None


def _write(conn: Connection, schema: str, event: Event, site_id: int, created: datetime) -> None:
    """Upsert the object (webhook shape: `_raw` holds it until a scan re-reads the REST shape);
    a deletion then sets `_deleted_at` to the event's time."""
    assert event.entity is not None and event.object_id is not None
    entity = get_entity(event.entity)
    if set(event.object) - _ENVELOPE_KEYS:
        batch = normalize(entity, [event.object])
        upsert_batch(conn, entity=entity, site_id=site_id, batch=batch, schema=schema,
                     observed_at=created)  # fmt: skip
    if event.is_deletion:
        mark_deleted(conn, entity=entity, site_id=site_id, ids=[event.object_id],
                     schema=schema, deleted_at=created)  # fmt: skip


def _mark(conn: Connection, schema: str, event_id: str, outcome: str, note: str) -> None:
    events, _ = tables(schema)
    values: dict[str, Any] = {"apply_note": note}
    if outcome == "failed":
        values = {"apply_error": note}
    else:
        values["applied_at"] = func.now()
    conn.execute(update(events).where(events.c.event_id == event_id).values(**values))
