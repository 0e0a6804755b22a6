"""The attacks of issue #21 on the webhook receiver, one test each, over real HTTP into a real
Postgres: every input gets one deterministic JSON answer, nothing reaches stderr as a
traceback, connections are capped and each request is bounded by one deadline."""

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, create_engine

from pelcro_sync.config import Secret
from pelcro_sync.transform.normalize import sanitize
from pelcro_sync.webhooks.protocol import Limits, WebhookServer, running
from pelcro_sync.webhooks.server import WORKER_THREADS, Receiver
from pelcro_sync.webhooks.signature import HEADER, sign
from tests.fixtures.postgres import warehouse_of
from tests.integration.webhook_helpers import (
    SECRET,
    body_of,
    empty_events,
    envelope,
    head_and_json,
    post,
    post_json,
    raw_exchange,
    schema_for_module,
    stored,
)

DEADLINE_S = 1.5  # the production deadline is 10 s; the behaviour is the same, sooner
MAX_CONNECTIONS = 40


@pytest.fixture(scope="module")
def module_schema(pg_url: str, pg_engine: Engine) -> Iterator[str]:
    with schema_for_module(pg_url, pg_engine) as schema:
        yield schema


@pytest.fixture
def schema(module_schema: str, pg_engine: Engine) -> str:
    empty_events(pg_engine, module_schema)
    return module_schema


@pytest.fixture
def server(pg_engine: Engine, schema: str) -> Iterator[WebhookServer]:
    receiver = Receiver(warehouse_of(pg_engine, schema), Secret(SECRET), deadline_s=DEADLINE_S)
    limits = Limits(max_connections=MAX_CONNECTIONS, deadline_s=DEADLINE_S)
    with running(receiver, limits=limits) as srv:
        yield srv


@pytest.fixture(autouse=True)
def no_traceback(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> Iterator:
    """Whatever the attack, nothing reaches stderr as a traceback, and no log record carries
    one or spans lines."""
    caplog.set_level(logging.DEBUG)
    yield
    err = capfd.readouterr().err
    assert "Traceback" not in err, err
    for record in caplog.records:
        assert record.exc_info is None, record.getMessage()
        assert "\n" not in record.getMessage(), record.getMessage()


def signed_request(body: bytes, *, content_length: str | None = None) -> bytes:
    length = str(len(body)) if content_length is None else content_length
    head = (f"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"{HEADER}: {sign(SECRET, body)}\r\nContent-Length: {length}\r\n\r\n")  # fmt: skip
    return head.encode("utf-8") + body


# -- malformed HTTP ------------------------------------------------------------------------


def test_content_length_superscript_two_gets_a_json_400(
    server: WebhookServer, pg_engine: Engine, schema: str, caplog: pytest.LogCaptureFixture
) -> None:
    """`²` passes str.isdigit but not int(): answered 400 naming Content-Length, one log line."""
    answer = raw_exchange(server.server_address, signed_request(b"{}", content_length="²"))
    status, body = head_and_json(answer)
    assert status.startswith("HTTP/1.1 400"), answer
    assert "Content-Length" in body["error"]
    assert stored(pg_engine, schema) == {}
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) <= 1


# -- signed bodies the database used to refuse ----------------------------------------------

NUL_PLACES = [
    ("in-a-name", lambda e: e["data"]["object"].update(first_name="Ann\x00Lee")),
    ("in-a-key", lambda e: e["data"]["object"].update({"meta\x00data": {"k\x00": "v\x00"}})),
    ("in-the-event-id", lambda e: e.update(id=e["id"] + "\x00x")),
    ("in-the-type", lambda e: e.update(type="customer.updated\x00")),
    ("lone-surrogate", lambda e: e["data"]["object"].update(last_name="x\ud800y")),
]


@pytest.mark.parametrize("plant", [p[1] for p in NUL_PLACES], ids=[p[0] for p in NUL_PLACES])
def test_nul_and_surrogates_are_stored_as_visible_escapes(
    server: WebhookServer, pg_engine: Engine, schema: str, plant: Any
) -> None:
    """Stored (200), never 503: NUL and lone surrogates become the six-character escapes,
    as the REST path stores them (`normalize` text policy)."""
    sent = envelope()
    plant(sent)
    response = post_json(server.url, sent)
    assert response.status_code == 200, response.text
    want = sanitize(json.loads(body_of(sent)))
    [row] = stored(pg_engine, schema).values()
    assert row.payload == want
    assert (row.event_id, row.type) == (want["id"], want["type"])
    assert "\\u0000" in json.dumps(row.payload) or "\\\\ud800" in json.dumps(row.payload)


BIG_IDS = [
    ("id-2^63", {"id": 2**63}, "object_id"),
    ("id-2^70", {"id": 2**70}, "object_id"),
    ("id-superscript-two", {"id": "²"}, "object_id"),
    ("site-id-2^63", {"site_id": 2**63}, "site_id"),
    ("site-ids-2^64", {"site_id": None, "site_ids": [2**64]}, "site_id"),
]


@pytest.mark.parametrize(
    ("fields", "column"), [b[1:] for b in BIG_IDS], ids=[b[0] for b in BIG_IDS]
)
def test_unusable_ids_are_stored_as_null_never_retried(
    server: WebhookServer, pg_engine: Engine, schema: str, fields: dict, column: str
) -> None:
    """An id beyond bigint (or "²") is kept in the payload, exactly, and NULL in its column,
    as any unusable id: 200, not 503 ("retry later" would fail forever)."""
    sent = envelope()
    sent["data"]["object"].update(fields)
    response = post_json(server.url, sent)
    assert response.status_code == 200, response.text
    [row] = stored(pg_engine, schema).values()
    assert getattr(row, column) is None
    assert row.payload["data"]["object"] == json.loads(body_of(sent))["data"]["object"]


@pytest.mark.parametrize("created", ["1e12", "1e300", str(2**70), "-1e15"])
def test_created_beyond_the_calendar_is_a_400(
    server: WebhookServer, pg_engine: Engine, schema: str, created: str
) -> None:
    """Years beyond 9999 (or before 1): 400 naming `created`, never a dropped connection."""
    body = (b'{"type":"customer.updated","id":"evt_far","created":' + created.encode()
            + b',"data":{"object":{"id":1,"site_id":2}}}')  # fmt: skip
    response = post(server.url, body)
    assert response.status_code == 400
    assert "created out of range" in response.json()["error"]
    assert stored(pg_engine, schema) == {}


CREATED_CHOICES = [("missing", 200), (None, 200), ("1700000000", 400), (True, 400)]


@pytest.mark.parametrize(
    ("created", "status"), CREATED_CHOICES, ids=["missing", "null", "string", "true"]
)
def test_created_absent_or_null_is_kept_in_arrival_order_other_types_refused(
    server: WebhookServer, pg_engine: Engine, schema: str, created: Any, status: int
) -> None:
    """The documented choice: an envelope without `created` is stored, ordered by its arrival
    (the body is signed: only Pelcro could omit it); one of another type is malformed."""
    sent = envelope()
    if created == "missing":
        del sent["created"]
    else:
        sent["created"] = created
    response = post_json(server.url, sent)
    assert response.status_code == status, response.text
    rows = list(stored(pg_engine, schema).values())
    if status == 400:
        assert "`created` must be unix seconds" in response.json()["error"] and rows == []
        return
    [row] = rows
    assert row.created_at == row.received_at


def test_a_newline_in_a_signed_event_id_cannot_forge_a_log_line(
    server: WebhookServer, pg_engine: Engine, schema: str, caplog: pytest.LogCaptureFixture
) -> None:
    forged = "evt_1\nwebhook evt_2 customer.deleted: stored"
    response = post_json(server.url, envelope(forged))
    assert response.status_code == 200
    assert forged in stored(pg_engine, schema)  # stored as sent: the text is the sender's
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("pelcro_sync")]
    assert any("evt_1\\x0awebhook evt_2" in line for line in lines), lines


# -- slow and many connections ------------------------------------------------------------


def slow_client(address: tuple[str, int], stop: threading.Event, answers: list[bytes]) -> None:
    """One header byte every 0.2 s until answered (or told to stop); keeps the answer."""
    request = signed_request(b"{}")
    with socket.create_connection(address, timeout=30) as sock:
        sock.settimeout(0.2)
        for byte in request:
            if stop.is_set():
                return
            try:
                sock.sendall(bytes([byte]))
                if data := sock.recv(4096):
                    answers.append(data + _rest(sock))
                    return
            except TimeoutError:
                continue
            except OSError:
                answers.append(b"reset")
                return


def _rest(sock: socket.socket) -> bytes:
    sock.settimeout(2)
    try:
        return b"".join(iter(lambda: sock.recv(4096), b""))
    except OSError:
        return b""


def test_slow_connections_are_capped_and_answered_within_the_deadline(
    server: WebhookServer, pg_engine: Engine, schema: str
) -> None:
    """More slow-header clients than the cap: those beyond it get 503 at once, the others 408
    at the deadline; no thread per connection. A delivery during the flood gets an answer."""
    threads_before = threading.active_count()
    stop, answers = threading.Event(), []
    clients = [threading.Thread(target=slow_client, args=(server.server_address, stop, answers))
               for _ in range(MAX_CONNECTIONS + 10)]  # fmt: skip
    started = time.monotonic()
    for t in clients:
        t.start()
    time.sleep(0.5)
    during = post_json(server.url, envelope())
    # The server's threads: the event loop and a bounded pool, not one per connection.
    server_threads = threading.active_count() - sum(t.is_alive() for t in clients)
    assert server_threads - threads_before <= WORKER_THREADS, server_threads
    # Over the cap a delivery is told to retry; under it, stored. Either way, answered.
    assert during.status_code in (200, 503) and during.headers["content-type"] == "application/json"
    for t in clients:
        t.join(timeout=DEADLINE_S + 5)
    stop.set()
    elapsed = time.monotonic() - started
    statuses = sorted(head_and_json(a)[0].split(" ")[1] for a in answers if a != b"reset")
    assert len(answers) == len(clients) and statuses.count("503") >= 10, statuses
    assert set(statuses) <= {"408", "503"} and statuses.count("408") >= 1, statuses
    assert elapsed < DEADLINE_S + 4
    assert post_json(server.url, envelope()).status_code == 200


def test_a_delivery_is_answered_while_slow_connections_are_held(
    server: WebhookServer, pg_engine: Engine, schema: str
) -> None:
    stop, answers = threading.Event(), []
    clients = [threading.Thread(target=slow_client, args=(server.server_address, stop, answers))
               for _ in range(MAX_CONNECTIONS // 2)]  # fmt: skip
    for t in clients:
        t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    response = post_json(server.url, envelope("evt_during"))
    assert response.status_code == 200 and time.monotonic() - t0 < 1.0
    stop.set()
    for t in clients:
        t.join(timeout=DEADLINE_S + 5)
    assert "evt_during" in stored(pg_engine, schema)


def test_a_stalled_body_gets_408_at_the_deadline(server: WebhookServer) -> None:
    body = body_of(envelope())
    t0 = time.monotonic()
    with socket.create_connection(server.server_address, timeout=10) as sock:
        sock.sendall(signed_request(body)[: -len(body) // 2])  # headers and half the body
        answer = _rest(sock) if sock.recv(1, socket.MSG_PEEK) else b""
    status, reply = head_and_json(answer)
    assert status.startswith("HTTP/1.1 408") and "not complete within" in reply["error"]
    assert DEADLINE_S - 0.1 <= time.monotonic() - t0 < DEADLINE_S + 2


# -- HTTP/1.1, health, outage ---------------------------------------------------------------


def test_keep_alive_serves_several_deliveries_on_one_connection(server: WebhookServer) -> None:
    with httpx.Client() as client:
        first = post_json(server.url, envelope(), client=client)
        second = post_json(server.url, envelope(), client=client)
        refused = post(server.url, b"{}", signed=False, client=client)
        third = post_json(server.url, envelope(), client=client)
    assert [r.status_code for r in (first, second, refused, third)] == [200, 200, 401, 200]
    assert first.http_version == "HTTP/1.1" and "close" not in first.headers.get("connection", "")
    assert refused.headers["content-type"] == "application/json"


def test_healthz_checks_the_database(server: WebhookServer, pg_engine: Engine) -> None:
    ok = httpx.get(server.url + "healthz", timeout=10)
    assert ok.status_code == 200 and ok.json()["status"] == "ok"
    dead = create_engine("postgresql+psycopg://postgres@127.0.0.1:9/none",
                         connect_args={"connect_timeout": 2})  # fmt: skip
    with running(Receiver(warehouse_of(dead, "pelcro"), Secret(SECRET))) as down:
        health = httpx.get(down.url + "healthz", timeout=10)
        delivery = post_json(down.url, envelope())
    assert health.status_code == 503 and health.json()["status"] == "unavailable"
    # The one case for "retry later": the database does not answer.
    assert delivery.status_code == 503 and "retry later" in delivery.json()["error"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/", 405), ("PUT", "/x", 405), ("POST", "/healthz", 405), ("DELETE", "/", 405)],
)
def test_every_refusal_has_a_json_body(
    server: WebhookServer, method: str, path: str, status: int
) -> None:
    response = httpx.request(method, server.url.rstrip("/") + path, timeout=10)
    assert response.status_code == status and response.json()["error"]
