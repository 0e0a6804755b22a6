"""History from webhooks: a version starts at the event's `created`; an older event, one
delivered twice and one older than a scan's observation add no version; a deletion closes."""

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text

from pelcro_sandbox.webhooks import deliver
from pelcro_sync.config import Secret
from pelcro_sync.warehouse.migrate import upgrade
from pelcro_sync.webhooks.apply import apply_pending
from pelcro_sync.webhooks.server import Receiver, WebhookServer, running
from tests.integration.freshness_helpers import sync
from tests.integration.history_helpers import (
    Version,
    assert_history_matches_current,
    current_row,
    versions,
)

SECRET = "whsec_history_3c1e"


@pytest.fixture
def schema(pg_url: str, pg_engine: Engine) -> Iterator[str]:
    name = f"hw_{uuid.uuid4().hex[:8]}"
    upgrade(pg_url, schema=name)
    yield name
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def receiver(pg_engine: Engine, schema: str) -> Iterator[WebhookServer]:
    with running(Receiver(pg_engine, schema, Secret(SECRET))) as server:
        yield server


def _created(envelopes: list[dict]) -> datetime:
    [at] = {e["created"] for e in envelopes}
    return datetime.fromtimestamp(at, UTC)


def _wait_past(at: datetime) -> None:
    """Until the wall clock is a whole second past `at`: later events and scans are then
    strictly later, whatever the second they fall in."""
    while time.time() < at.timestamp() + 1.05:
        time.sleep(0.05)


def _notes(engine: Engine, schema: str, envelopes: list[dict]) -> list[str]:
    with engine.connect() as conn:
        return conn.execute(
            text(f'SELECT apply_note FROM "{schema}"._webhook_events WHERE event_id = ANY(:ids)'),
            {"ids": [e["id"] for e in envelopes]},
        ).scalars().all()  # fmt: skip


def test_webhook_versions_out_of_order_twice_superseded_and_deleted(
    make_sandbox, receiver: WebhookServer, pg_engine: Engine, schema: str
):
    sandbox = make_sandbox(customers=30, sites=1)
    sb, site = sandbox.sandbox, sandbox.site_ids[0]
    cid = sb.truth("customers", site)[0]["id"]
    sync(sandbox, pg_engine, schema, "customers", full=True)
    scanned = current_row(pg_engine, schema, "customers", site, cid)
    _wait_past(scanned["synced_at"])

    # Out of order: the newer event applied first; the older one after it adds nothing.
    older = sb.webhooks.events_for(sb.mutate(updates={"customers": {cid: {"email": "o@x.io"}}}))
    newer = sb.webhooks.events_for(sb.mutate(updates={"customers": {cid: {"email": "n@x.io"}}}))
    assert _created(older) < _created(newer)
    assert deliver(receiver.url, SECRET, newer) == [200]
    assert apply_pending(pg_engine, schema=schema).applied == 1
    assert deliver(receiver.url, SECRET, older + newer) == [200, 200]  # newer: twice
    late = apply_pending(pg_engine, schema=schema)
    assert (late.applied, late.stale) == (0, 1)
    hooked = current_row(pg_engine, schema, "customers", site, cid)
    assert hooked["raw"]["email"] == "n@x.io"
    v1 = Version(scanned["synced_at"], _created(newer), scanned["raw"])
    v2 = Version(_created(newer), None, hooked["raw"])
    assert versions(pg_engine, schema, "customers", site, cid) == [v1, v2]

    # Older than what a scan saw since: superseded, never a version before the scan's.
    stale = sb.webhooks.events_for(sb.mutate(updates={"customers": {cid: {"last_name": "S"}}}))
    _wait_past(_created(stale))
    sync(sandbox, pg_engine, schema, "customers", full=True)
    rescanned = current_row(pg_engine, schema, "customers", site, cid)
    v2 = Version(v2.valid_from, rescanned["synced_at"], v2.raw)
    v3 = Version(rescanned["synced_at"], None, rescanned["raw"])
    assert versions(pg_engine, schema, "customers", site, cid) == [v1, v2, v3]
    assert deliver(receiver.url, SECRET, stale) == [200]
    assert apply_pending(pg_engine, schema=schema).stale == 1
    assert _notes(pg_engine, schema, stale) == [
        "superseded: a newer version is held (a newer event or a later scan)"
    ]
    assert versions(pg_engine, schema, "customers", site, cid) == [v1, v2, v3]

    # A deletion closes the open version at the event's time and leaves none open; the
    # object it carries (its last state) is kept as a version that lasted no time.
    _wait_past(rescanned["synced_at"])
    gone = sb.webhooks.events_for(sb.mutate(deletes={"customers": [cid]}))
    mine = [e for e in gone if e["data"]["object"]["id"] == cid]
    assert deliver(receiver.url, SECRET, gone) == [200] * len(gone)
    assert apply_pending(pg_engine, schema=schema).deleted == len(gone)
    at = _created(mine)
    deleted = current_row(pg_engine, schema, "customers", site, cid)
    assert deleted["deleted_at"] == at
    assert versions(pg_engine, schema, "customers", site, cid) == [
        v1, v2, Version(v3.valid_from, at, v3.raw), Version(at, at, deleted["raw"])
    ]  # fmt: skip
    assert deliver(receiver.url, SECRET, mine) == [200]  # redelivered: a duplicate
    assert apply_pending(pg_engine, schema=schema).taken == 0
    for entity in ("customers", "subscriptions", "addresses", "sources", "memberships"):
        assert_history_matches_current(pg_engine, schema, entity)
