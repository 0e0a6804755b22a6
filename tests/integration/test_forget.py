"""`forget` over HTTP with history present: a customer synced from the sandbox, changed by
webhooks and scans (several versions), then erased from current rows, every version and the
stored events; ids, amounts, dates and statuses kept, others untouched, the erasure
recorded; a later sync brings back what Pelcro holds, not the erased past."""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from pelcro_sandbox.webhooks import deliver
from pelcro_sync.api.client import PelcroClient
from pelcro_sync.config import Secret
from pelcro_sync.entities import get_entity
from pelcro_sync.pipeline.sync import sync_entity
from pelcro_sync.warehouse.erasure import Erasure, UnknownCustomerError, forget_customer
from pelcro_sync.warehouse.migrate import downgrade, upgrade
from pelcro_sync.webhooks.apply import apply_pending
from pelcro_sync.webhooks.protocol import WebhookServer, running
from pelcro_sync.webhooks.server import Receiver
from tests.fixtures.postgres import warehouse_of
from tests.integration.forget_helpers import (
    KEPT,
    changed,
    leaf_changes,
    snapshot,
    strings,
    theirs,
)
from tests.integration.freshness_helpers import settings_for, sync
from tests.integration.history_helpers import assert_history_matches_current, versions

SECRET = "whsec_forget_8d2e"
SYNCED = ("customers", "addresses", "subscriptions", "memberships", "invoices", "charges",
          "refunds", "sources", "orders", "newsletters", "organizations")  # fmt: skip
ME, OTHER = 5001, 5002  # seed 7: ME has addresses, a subscription, invoices, charges, ...
NEW_EMAIL, NEW_PHONE, NEW_LINE1 = "forget.me@example.org", "5550001111", "1 Forgettable Lane"


@pytest.fixture
def schema(pg_url: str, pg_engine: Engine) -> Iterator[str]:
    name = f"fg_{uuid.uuid4().hex[:8]}"
    upgrade(pg_url, schema=name)
    yield name
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def receiver(pg_engine: Engine, schema: str) -> Iterator[WebhookServer]:
    with running(Receiver(warehouse_of(pg_engine, schema), Secret(SECRET))) as server:
        yield server


def _sync_site(running: Any, engine: Engine, schema: str, entity: str, site_id: int) -> None:
    with PelcroClient(settings_for(running)) as client:
        sync_entity(client, warehouse=warehouse_of(engine, schema), entity=get_entity(entity),
                    site_id=site_id)  # fmt: skip


def _forget(engine: Engine, schema: str, customer_id: int, **kwargs: Any) -> Erasure:
    with engine.begin() as conn:
        return forget_customer(conn, customer_id, schema=schema, by="dpo@example.com", **kwargs)


def _deliver(receiver: WebhookServer, envelopes: list[dict], engine: Engine, schema: str, *,
             apply: bool = True) -> None:  # fmt: skip
    assert deliver(receiver.url, SECRET, envelopes) == [200] * len(envelopes)
    if apply:
        assert apply_pending(warehouse_of(engine, schema)).failed == 0


def _history_and_events(running: Any, receiver: WebhookServer, engine: Engine, schema: str
                        ) -> dict[str, list[str]]:  # fmt: skip
    """Sync everything, change ME by webhook then scan, add webhook-only shapes; the ids of
    the events about ME and about OTHER."""
    sb, site = running.sandbox, running.site_ids[0]
    cust = {c["id"]: c for c in sb.truth("customers", site)}
    entry = {k: cust[ME][k] for k in ("id", "email", "first_name")}
    sb.mutate(updates={  # a signup with ME's email; an organization listing ME and OTHER
        "newsletters": {sb.truth("newsletters", site)[0]["id"]: {"email": cust[ME]["email"]}},
        "organizations": {sb.truth("organizations", site)[0]["id"]: {"customers": [
            {k: cust[OTHER][k] for k in entry}, entry]}},
    })  # fmt: skip
    for entity in SYNCED:
        sync(running, engine, schema, entity, full=True)
    address = next(a for a in sb.truth("addresses", site) if a["user_id"] == ME)
    mine = sb.webhooks.events_for(sb.mutate(updates={
        "customers": {ME: {"email": NEW_EMAIL, "phone": NEW_PHONE}},
        "addresses": {address["id"]: {"line1": NEW_LINE1}},
    }))  # fmt: skip
    _deliver(receiver, mine, engine, schema)  # versions 2, webhook-shaped
    for entity in ("customers", "addresses"):
        sync(running, engine, schema, entity, full=True)  # versions 3, REST-shaped again
    sub = next(s for s in sb.truth("subscriptions", site) if s["user_id"] == ME)
    invoice = next(i for i in sb.truth("invoices", site) if i["subscription_id"] == sub["id"])
    embedded = {  # what only webhooks carry (entities.md): ME inside an invoice
        **invoice, "object": "invoice", "site_id": site,
        "customer": {"id": ME, "email": NEW_EMAIL, "first_name": cust[ME]["first_name"]},
        "address_shipping": {"id": address["id"], "user_id": ME, "line1": NEW_LINE1,
                             "city": "Montreal", "country": "CA"},
    }  # fmt: skip
    mine += [sb.webhooks.envelope("invoice.updated", embedded)]
    _deliver(receiver, mine[-1:], engine, schema)
    theirs_ = sb.webhooks.events_for(sb.mutate(updates={"customers": {OTHER: {"phone": "1"}}}))
    _deliver(receiver, theirs_, engine, schema)
    pending = {"object": "subscription", "id": 990001, "site_id": site, "user_id": ME,
               "status": "active", "metadata": {"note": "gift for my sister"},
               "customer": {"id": ME, "email": NEW_EMAIL}}  # fmt: skip
    mine += [sb.webhooks.envelope("subscription.created", pending)]
    _deliver(receiver, mine[-1:], engine, schema, apply=False)  # stored, not applied yet
    return {"mine": [e["id"] for e in mine], "theirs": [e["id"] for e in theirs_]}


def test_forget_erases_current_history_and_events_and_keeps_the_rest(
    make_sandbox, receiver: WebhookServer, pg_engine: Engine, schema: str
) -> None:
    running = make_sandbox(customers=30, sites=1)
    sb, site = running.sandbox, running.site_ids[0]
    original = {c["id"]: c for c in sb.truth("customers", site)}[ME]
    events = _history_and_events(running, receiver, pg_engine, schema)
    truth = {entity: sb.truth(entity, site) for entity in SYNCED}
    mine = theirs(truth, ME)
    mine["newsletters"] = {truth["newsletters"][0]["id"]}
    mine["organizations"] = {truth["organizations"][0]["id"]}
    assert len(versions(pg_engine, schema, "customers", site, ME)) == 3
    before = snapshot(pg_engine, schema)

    erasure = _forget(pg_engine, schema, ME)
    after = snapshot(pg_engine, schema)
    diff = changed(before, after)

    # Only ME's rows changed, and `_erasures` counts exactly them, table by table.
    for table, keys in diff.items():
        if table == "_webhook_events":
            assert {k[0] for k in keys} == set(events["mine"])
        else:
            assert {k[1] for k in keys} <= mine[table.removesuffix("_history")], table
    assert {t: n for t, n in erasure.row_counts.items() if n} == {
        t: len(k) for t, k in diff.items()
    }
    assert {"customers_history", "addresses_history", "invoices_history", "sources",
            "charges", "orders", "newsletters", "organizations"} <= set(diff)  # fmt: skip

    # Every change is a value set to null; no id, amount, date or status moved.
    for table, keys in diff.items():
        for key in keys:
            for path, old, new in leaf_changes(before[table][key], after[table][key]):
                assert new is None and old is not None, (table, key, path)
                assert not set(p for p in path if isinstance(p, str)) & KEPT, (table, path)

    # Nothing of ME's identity is left in their rows: typed columns, `_raw`, versions, events.
    needles = {original[k] for k in ("email", "first_name", "last_name", "name", "phone",
               "username", "tin")} | {NEW_EMAIL, NEW_PHONE, NEW_LINE1}  # fmt: skip
    needles |= {a["line1"] for a in truth["addresses"] if a["id"] in mine["addresses"]}
    needles.discard(None)
    for table, rows in after.items():
        entity = table.removesuffix("_history")
        for key, row in rows.items():
            if entity == "organizations":
                row = [c for c in row["_raw"]["customers"] if c["id"] == ME]  # OTHER's too
            if (key[0] in events["mine"]) or (entity in mine and key[1] in mine[entity]):
                assert not set(strings(row)) & needles, (table, key)
    org = after["organizations"][(site, truth["organizations"][0]["id"])]
    assert [c["email"] for c in org["customers"]] == [_email(truth, OTHER), None]
    assert after["customers"][(site, OTHER)] == before["customers"][(site, OTHER)]
    _assert_webhook_shapes(after, site, events["mine"])
    _assert_recorded(pg_engine, schema, erasure, site)

    # Twice: nothing left to change, the request recorded again.
    assert _forget(pg_engine, schema, ME).rows_changed == 0
    assert snapshot(pg_engine, schema) == after

    # A later sync brings back what Pelcro holds, as a new version; the past stays erased.
    for entity in ("customers", "addresses"):
        sync(running, pg_engine, schema, entity, full=True)
        assert_history_matches_current(pg_engine, schema, entity)
    kept = versions(pg_engine, schema, "customers", site, ME)
    assert [v.raw.get("email") for v in kept] == [None, None, None, NEW_EMAIL]
    assert kept[-1].valid_to is None


def _email(truth: dict[str, list[dict[str, Any]]], customer_id: int) -> str:
    return next(c["email"] for c in truth["customers"] if c["id"] == customer_id)


def _assert_webhook_shapes(after: Any, site: int, mine: list[str]) -> None:
    """What only webhooks carry: ME embedded in an invoice, a pending subscription event."""
    [invoice] = [r for r in after["invoices"].values() if isinstance(r["_raw"]["customer"], dict)]
    assert invoice["customer"] is None  # an object where an id belongs: null when typed
    assert invoice["_raw"]["customer"] == {"id": ME, "email": None, "first_name": None}
    shipping = invoice["_raw"]["address_shipping"]
    assert (shipping["line1"], shipping["city"], shipping["country"]) == (None, None, "CA")
    assert invoice["total"] == invoice["_raw"]["total"] is not None
    [pending] = [after["_webhook_events"][(e,)] for e in mine
                 if after["_webhook_events"][(e,)]["applied_at"] is None]  # fmt: skip
    obj = pending["payload"]["data"]["object"]
    assert (obj["user_id"], obj["status"], obj["metadata"], obj["customer"]) == (
        ME,
        "active",
        {"note": None},
        {"id": ME, "email": None},
    )
    sources = [r for r in after["sources"].values() if r["_raw"].get("user_id") == ME]
    assert sources and all(r["name"] is None for r in sources)
    assert all(r["customer"] == {"id": ME, "name": None, "email": None} for r in sources)
    customer = after["customers"][(site, ME)]
    assert customer["metadata"], "seed 7 gives ME metadata: the check below must see some"
    assert not list(strings([customer["metadata"], customer["_raw"]["metadata"]]))


def _assert_recorded(engine: Engine, schema: str, erasure: Erasure, site: int) -> None:
    with engine.connect() as conn:
        row = conn.execute(text(f'SELECT * FROM "{schema}"._erasures')).one()
    assert (row.customer_id, row.site_id, row.sites, row.erased_by) == (
        ME,
        None,
        [site],
        "dpo@example.com",
    )
    assert row.row_counts == erasure.row_counts and row.rows_changed == erasure.rows_changed
    assert row.erased_at == erasure.erased_at and row.database_role


def test_site_limits_the_erasure_to_that_site(
    make_sandbox, pg_url: str, pg_engine: Engine, schema: str
) -> None:
    running = make_sandbox(customers=30, sites=2)
    sb, (here, there) = running.sandbox, running.site_ids
    both = {c["id"] for c in sb.truth("customers", here)} & {
        c["id"] for c in sb.truth("customers", there)
    }
    customer_id = min(both)
    for site in (here, there):
        for entity in ("customers", "addresses"):
            _sync_site(running, pg_engine, schema, entity, site)
    before = snapshot(pg_engine, schema)

    erasure = _forget(pg_engine, schema, customer_id, site_id=here)

    diff = changed(before, snapshot(pg_engine, schema))
    assert {key[0] for keys in diff.values() for key in keys} == {here}
    assert (site_key := (here, customer_id)) in diff["customers"]
    assert diff["customers"] == {site_key} and erasure.sites == (here,)
    assert erasure.row_counts["customers"] == 1 and erasure.site_id == here
    with pytest.raises(RuntimeError, match="_erasures records erasures that were done"):
        downgrade(pg_url, schema=schema, revision="0005")  # the evidence is kept


def test_an_unknown_customer_is_refused_and_nothing_changes(
    make_sandbox, pg_engine: Engine, schema: str
) -> None:
    running = make_sandbox(customers=30, sites=2)
    sync(running, pg_engine, schema, "customers", full=True)
    before = snapshot(pg_engine, schema)
    with pytest.raises(UnknownCustomerError, match="customer 424242 is not in the warehouse"):
        _forget(pg_engine, schema, 424242)
    other_site = running.site_ids[1]  # never synced: ME is nowhere there
    with pytest.raises(UnknownCustomerError, match=f"on site {other_site}; nothing was erased"):
        _forget(pg_engine, schema, ME, site_id=other_site)
    assert snapshot(pg_engine, schema) == before
    with pg_engine.connect() as conn:
        assert conn.execute(text(f'SELECT count(*) FROM "{schema}"._erasures')).scalar() == 0
