"""Webhooks end to end: a real HTTP receiver storing into Postgres, the sandbox as Pelcro's
sender (out of order, twice, forged), `apply_pending` onto the entity tables, the CLI."""

import logging
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import Engine, text

from pelcro_sandbox import Running
from pelcro_sandbox.webhooks import deliver, disorder
from pelcro_sync.config import Secret
from pelcro_sync.webhooks.apply import apply_pending
from pelcro_sync.webhooks.protocol import WebhookServer, running
from pelcro_sync.webhooks.server import MAX_BODY, Receiver
from pelcro_sync.webhooks.signature import HEADER, sign
from tests.fixtures.postgres import warehouse_of

SECRET = "whsec_integration_5f2c9a1b7e"
BIN = Path(sys.executable).with_name("pelcro-sync")


@pytest.fixture(scope="module")
def module_schema(pg_url: str, pg_engine: Engine) -> Iterator[str]:
    """One migrated schema for this module: migrating per test would cost 0.5 s each."""
    from pelcro_sync.warehouse.migrate import upgrade

    schema = f"wh_{uuid.uuid4().hex[:8]}"
    upgrade(pg_url, schema=schema)
    yield schema
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def migrated_schema(module_schema: str, pg_engine: Engine) -> str:
    """The module's schema, emptied: every test starts with no event and no row."""
    with pg_engine.begin() as conn:
        names = conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = :s "
                "AND tablename <> 'alembic_version'"
            ),
            {"s": module_schema},
        )
        tables = ", ".join(f'"{module_schema}"."{n}"' for n in names.scalars())
        conn.exec_driver_sql(f"TRUNCATE {tables}")
    return module_schema


@pytest.fixture
def receiver(pg_engine: Engine, migrated_schema: str) -> Iterator[WebhookServer]:
    with running(Receiver(warehouse_of(pg_engine, migrated_schema), Secret(SECRET))) as server:
        yield server


def envelope(event_id: str = "evt_1", created: float | None = None, **obj: Any) -> bytes:
    obj = {"object": "customer", "id": 5121, "site_id": 85, "email": "a@example.com", **obj}
    return orjson.dumps({"type": "customer.created", "id": event_id,
                         "created": int(created or time.time()), "triggered_from": "open_api",
                         "data": {"object": obj}})  # fmt: skip


def post(url: str, body: bytes, *, signed: bool = True, **headers: str) -> httpx.Response:
    base = {"Content-Type": "application/json"}
    if signed:
        base[HEADER] = sign(SECRET, body)
    return httpx.post(url, content=body, headers={**base, **headers}, timeout=10)


def events(engine: Engine, schema: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(f'SELECT * FROM "{schema}"._webhook_events')))


def test_a_signed_event_is_stored_once(
    receiver: WebhookServer, pg_engine: Engine, migrated_schema: str
) -> None:
    created = int(time.time()) - 60
    body = envelope(created=created)
    first = post(receiver.url, body)
    replay = post(receiver.url, body)
    assert (first.status_code, first.json()["status"]) == (200, "stored")
    assert (replay.status_code, replay.json()["status"]) == (200, "duplicate")
    [row] = events(pg_engine, migrated_schema)
    assert (row.event_id, row.type, row.entity, row.site_id, row.object_id) == (
        "evt_1", "customer.created", "customers", 85, 5121,
    )  # fmt: skip
    assert row.created_at.timestamp() == created
    assert row.payload["data"]["object"]["email"] == "a@example.com"
    assert row.applied_at is None and row.apply_error is None


REFUSALS = [
    ("unsigned", dict(signed=False), 401),
    ("bad-signature", {HEADER: sign("not-the-secret", envelope())}, 401),
    ("wrong-content-type", {"Content-Type": "text/plain"}, 415),
    ("form-content-type", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
]


@pytest.mark.parametrize(
    ("kwargs", "status"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_refused_deliveries_store_nothing(
    receiver: WebhookServer, pg_engine: Engine, migrated_schema: str, kwargs: dict, status: int,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    response = post(receiver.url, envelope(), **kwargs)
    assert response.status_code == status
    assert events(pg_engine, migrated_schema) == []
    assert SECRET not in response.text and SECRET not in caplog.text


BAD_BODIES = [
    ("stale", envelope(created=time.time() - 4 * 24 * 3600), "stale"),
    ("not-json", b"<html>hello</html>", "not JSON"),
    ("not-an-object", b"[1,2,3]", "not a JSON object"),
    ("no-id", orjson.dumps({"type": "customer.created", "data": {}}), "`id`"),
    ("no-type", orjson.dumps({"id": "evt_9", "data": {}}), "`type`"),
]


@pytest.mark.parametrize(
    ("body", "reason"), [b[1:] for b in BAD_BODIES], ids=[b[0] for b in BAD_BODIES]
)
def test_signed_but_invalid_bodies_get_400_and_store_nothing(
    receiver: WebhookServer, pg_engine: Engine, migrated_schema: str, body: bytes, reason: str
) -> None:
    response = post(receiver.url, body)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert events(pg_engine, migrated_schema) == []


def test_oversized_body_is_refused_before_it_is_read(
    receiver: WebhookServer, pg_engine: Engine, migrated_schema: str
) -> None:
    """413 comes back while the client has sent only the headers: the body is never read."""
    host, port = receiver.server_address[:2]
    with socket.create_connection((str(host), port), timeout=5) as sock:
        sock.sendall(
            f"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"{HEADER}: {sign(SECRET, b'x')}\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n".encode()
            + b"{"
        )
        answer = sock.recv(4096).decode()
    assert answer.startswith("HTTP/1.0 413") or answer.startswith("HTTP/1.1 413")
    assert events(pg_engine, migrated_schema) == []


def test_only_post_is_accepted(receiver: WebhookServer) -> None:
    response = httpx.get(receiver.url, timeout=5)
    assert (response.status_code, response.headers["allow"]) == (405, "POST")


def test_the_secret_and_signatures_never_reach_responses_or_logs(
    receiver: WebhookServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = envelope("evt_log")
    texts = [post(receiver.url, body).text, post(receiver.url, body, signed=False).text,
             post(receiver.url, body, **{HEADER: sign("x", body)}).text]  # fmt: skip
    assert "evt_log" in caplog.text  # the log does say what happened
    for leak in (SECRET, sign(SECRET, body), sign("x", body)):
        assert leak not in caplog.text
        assert all(leak not in t for t in texts)


# -- end to end: sandbox -> receiver -> apply_pending -> entity tables --------------------


def rows(engine: Engine, schema: str, table: str, ids: list[int]) -> dict[tuple[int, int], Any]:
    query = text(f'SELECT * FROM "{schema}"."{table}" WHERE id = ANY(:ids)')
    with engine.connect() as conn:
        return {(r.site_id, r.id): r for r in conn.execute(query, {"ids": ids})}


def truth(running_sb: Running, entity: str, record_id: int) -> dict[int, dict[str, Any]]:
    """The record as each site's list endpoint returns it now, by site."""
    sb = running_sb.sandbox
    return {s: r for s in sb.site_ids for r in sb.truth(entity, s) if r["id"] == record_id}


def test_out_of_order_doubled_deliveries_apply_to_the_sandbox_truth(
    make_sandbox, receiver: WebhookServer, pg_engine: Engine, migrated_schema: str
) -> None:
    running_sb = make_sandbox(customers=30)
    sb, site = running_sb.sandbox, running_sb.site_ids[0]
    cid = sb.truth("customers", site)[0]["id"]
    sid = sb.truth("subscriptions", site)[0]["id"]
    bid = sb.truth("bills", site)[0]["id"]
    src = next(s["id"] for s in sb.truth("sources", site) if s["user_id"] != cid)
    first = sb.mutate(updates={"customers": {cid: {"email": "first@example.com",
                                                    "first_name": "Ann"}}})  # fmt: skip
    events1 = sb.webhooks.events_for(first)
    second = sb.mutate(
        updates={"customers": {cid: {"email": "second@example.com"}},
                 "subscriptions": {sid: {"status": "canceled"}},
                 "bills": {bid: {"status": "paid"}}},
        creates={"invoices": 1}, deletes={"sources": [src]},
    )  # fmt: skip
    events2 = sb.webhooks.events_for(second)
    sent = events1 + events2
    order = disorder(sent, seed=5)
    assert [e["created"] for e in order] != sorted(e["created"] for e in order)
    statuses = deliver(receiver.url, SECRET, order)
    assert statuses == [200] * (2 * len(sent))
    assert deliver(receiver.url, SECRET, [sb.webhooks.envelope("customer.updated", {"id": cid})],
                   forge=True) == [401]  # fmt: skip
    assert len(events(pg_engine, migrated_schema)) == len(sent)

    counts = apply_pending(warehouse_of(pg_engine, migrated_schema))
    assert (counts.applied, counts.failed, counts.ignored) == (len(sent), 0, 0)
    assert counts.deleted == sum(e["type"] == "source.deleted" for e in sent) >= 1

    customers = rows(pg_engine, migrated_schema, "customers", [cid])
    for s, record in truth(running_sb, "customers", cid).items():
        row = customers[(s, cid)]
        assert (row.email, row.first_name) == ("second@example.com", "Ann") == (
            record["email"], record["first_name"])  # fmt: skip
        assert int(row.updated_at.timestamp()) == record["updated_at"]
    sub = rows(pg_engine, migrated_schema, "subscriptions", [sid])[(site, sid)]
    assert sub.status == "canceled" == truth(running_sb, "subscriptions", sid)[site]["status"]
    assert {r.status for r in rows(pg_engine, migrated_schema, "bills", [bid]).values()} == {"paid"}
    [new_invoice] = second["created"]["invoices"]
    landed = rows(pg_engine, migrated_schema, "invoices", [new_invoice])
    assert {k[0] for k in landed} == set(truth(running_sb, "invoices", new_invoice))
    deleted_sources = rows(pg_engine, migrated_schema, "sources", [src])
    assert deleted_sources and all(r._deleted_at is not None for r in deleted_sources.values())
    assert truth(running_sb, "sources", src) == {}  # gone from the API too


def test_an_older_event_after_a_newer_one_changes_nothing(
    make_sandbox, receiver: WebhookServer, pg_engine: Engine, migrated_schema: str
) -> None:
    running_sb = make_sandbox(customers=30)
    sb = running_sb.sandbox
    cid = sb.truth("customers", running_sb.site_ids[0])[0]["id"]
    older = sb.webhooks.events_for(sb.mutate(updates={"customers": {cid: {"email": "old@x.io"}}}))
    newer = sb.webhooks.events_for(sb.mutate(updates={"customers": {cid: {"email": "new@x.io"}}}))
    assert deliver(receiver.url, SECRET, newer) == [200] * len(newer)
    assert apply_pending(warehouse_of(pg_engine, migrated_schema)).applied == len(newer)
    assert deliver(receiver.url, SECRET, older) == [200] * len(older)
    late = apply_pending(warehouse_of(pg_engine, migrated_schema))
    assert (late.applied, late.stale) == (0, len(older))
    landed = rows(pg_engine, migrated_schema, "customers", [cid])
    assert {r.email for r in landed.values()} == {"new@x.io"}
    assert all(r["email"] == "new@x.io" for r in truth(running_sb, "customers", cid).values())
    with pg_engine.connect() as conn:
        notes = (
            conn.execute(
                text(
                    f'SELECT apply_note FROM "{migrated_schema}"._webhook_events '
                    "WHERE event_id = ANY(:ids)"
                ),
                {"ids": [e["id"] for e in older]},
            )
            .scalars()
            .all()
        )
    assert notes and all("newer event" in n for n in notes)  # fmt: skip


def test_unknown_types_and_siteless_objects_are_recorded_not_lost(
    receiver: WebhookServer, pg_engine: Engine, migrated_schema: str
) -> None:
    export = orjson.dumps({"type": "export.completed", "id": "evt_x", "created": int(time.time()),
                           "data": {"object": {"id": 1}}})  # fmt: skip
    siteless = envelope("evt_nosite", site_id=None, id=5555)
    assert [post(receiver.url, b).status_code for b in (export, siteless)] == [200, 200]
    counts = apply_pending(warehouse_of(pg_engine, migrated_schema))
    assert (counts.ignored, counts.failed) == (1, 1)
    by_id = {r.event_id: r for r in events(pg_engine, migrated_schema)}
    assert by_id["evt_x"].applied_at is not None and "no entity" in by_id["evt_x"].apply_note
    assert by_id["evt_nosite"].applied_at is None and "site" in by_id["evt_nosite"].apply_error
    # With a default site (PELCRO_SITE_ID naming one site) the same object would land there.
    with pg_engine.begin() as conn:
        conn.execute(text(f'UPDATE "{migrated_schema}"._webhook_events SET apply_error = NULL'))
    assert apply_pending(warehouse_of(pg_engine, migrated_schema), default_site_id=42).applied == 1
    assert set(rows(pg_engine, migrated_schema, "customers", [5555])) == {(42, 5555)}


def test_sandbox_config_delivers_webhooks_for_its_mutations(
    make_sandbox, receiver: WebhookServer, pg_engine: Engine, migrated_schema: str
) -> None:
    running_sb = make_sandbox(customers=30, webhook_url=receiver.url, webhook_secret=SECRET)
    sb = running_sb.sandbox
    vid = sb.truth("vendors", running_sb.site_ids[0])[0]["id"]
    sb.mutate(deletes={"vendors": [vid]})
    [row] = events(pg_engine, migrated_schema)
    assert (row.type, row.object_id) == ("vendor.deleted", vid)
    assert SECRET not in repr(sb.config)


def test_dagster_sensor_applies_pending_events(
    receiver: WebhookServer, pg_url: str, pg_engine: Engine, migrated_schema: str
) -> None:
    import dagster as dg

    from dagster_project.defs.resources import PelcroResource, WarehouseResource
    from dagster_project.defs.webhook_sensor import pelcro_webhooks_sensor

    assert post(receiver.url, envelope("evt_dg", email="dg@example.com")).status_code == 200
    with dg.build_sensor_context(
        resources={"warehouse": WarehouseResource(database_url=pg_url, schema_name=migrated_schema),
                   "pelcro": PelcroResource(site_ids="")},
    ) as context:  # fmt: skip
        result = pelcro_webhooks_sensor(context)
        assert isinstance(result, dg.SkipReason) and "applied 1" in (result.skip_message or "")
        assert orjson.loads(context.cursor or "{}")["applied"] == 1
    assert {r.email for r in rows(pg_engine, migrated_schema, "customers", [5121]).values()} == {
        "dg@example.com"
    }


# -- CLI -----------------------------------------------------------------------------------


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    base = {k: v for k, v in os.environ.items() if not k.startswith(("PELCRO_", "DATABASE_URL"))}
    return subprocess.run([str(BIN), *args], env={**base, **env}, capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).parent)  # fmt: skip


def test_cli_serve_help_names_its_variables() -> None:
    result = run_cli("webhooks", "serve", "--help", env={})
    assert result.returncode == 0
    for name in ("PELCRO_WEBHOOK_SECRET", "DATABASE_URL", "PELCRO_SCHEMA", "--port", "--host"):
        assert name in result.stdout


def test_cli_serve_without_a_secret_fails_in_one_line(pg_url: str) -> None:
    result = run_cli("webhooks", "serve", "--port", "0", env={"DATABASE_URL": pg_url})
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0
    assert "PELCRO_WEBHOOK_SECRET" in result.stderr
