"""Property test of the whole receiver over HTTP into Postgres: hostile JSON bodies, signed or
not, with random headers, methods and lengths. Every request gets one JSON answer from an
allowed set, never a 5xx while the database is up; an event is stored exactly when the
answer is 2xx, equal to what was sent under the text policy; nothing reaches stderr."""

import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from pelcro_sync.config import Secret
from pelcro_sync.transform.normalize import sanitize
from pelcro_sync.webhooks.protocol import Limits, WebhookServer, running
from pelcro_sync.webhooks.server import Receiver
from pelcro_sync.webhooks.signature import DEFAULT_TOLERANCE_S, HEADER, sign
from tests.fixtures.postgres import warehouse_of
from tests.hostile import acceptable, dumps, envelopes, json_values, same_json
from tests.integration.webhook_helpers import SECRET, schema_for_module

EXAMPLES = 250  # requests; the README's webhook section counts them
DEADLINE_S = 0.5  # a request whose Content-Length overstates its body waits this long
ALLOWED = {200, 400, 401, 405, 408, 411, 413, 415}
TOKEN = st.text("abcdefghijklmnopqrstuvwxyz-_0123456789", min_size=1, max_size=12)
HEADER_VALUE = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=20)


@pytest.fixture(scope="module")
def fuzz_target(pg_url: str, pg_engine: Engine) -> Iterator[tuple[WebhookServer, str]]:
    with schema_for_module(pg_url, pg_engine) as schema:
        receiver = Receiver(warehouse_of(pg_engine, schema), Secret(SECRET), deadline_s=DEADLINE_S)
        with running(receiver, limits=Limits(deadline_s=DEADLINE_S)) as server:
            yield server, schema


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    """One HTTP request: mostly a well-formed signed delivery of a hostile envelope, with
    every part of it now and then wrong."""
    kind = draw(st.sampled_from(["envelope"] * 6 + ["json", "bytes"]))
    sent = draw(envelopes()) if kind == "envelope" else None
    body = dumps(sent) if kind == "envelope" else draw(
        json_values.map(dumps) if kind == "json" else st.binary(max_size=64))  # fmt: skip
    signature = draw(st.sampled_from(["good"] * 8 + ["none", "bad"]))
    headers = {"Content-Type": draw(st.sampled_from(
        ["application/json"] * 8 + ["application/json; charset=utf-8", "Application/JSON",
                                    "text/plain", ""]))}  # fmt: skip
    if signature != "none":
        headers[HEADER] = sign(SECRET if signature == "good" else "other", body)
    headers |= draw(st.dictionaries(TOKEN.map(lambda t: "x-" + t), HEADER_VALUE, max_size=3))
    length = draw(st.sampled_from([str(len(body))] * 18 + ["²", "-1", "1e3", "", str(len(body) + 5),
                                                           "9" * 30]))  # fmt: skip
    method = draw(st.sampled_from(["POST"] * 9 + ["GET", "PUT", "PATCH"]))
    path = draw(st.sampled_from(["/", "/pelcro/webhooks", "/healthz", "/%00", "/a?b=c"]))
    return {"sent": sent, "body": body, "headers": headers, "length": length,
            "method": method, "path": path, "well_formed": signature == "good"
            and length == str(len(body)) and method == "POST" and path != "/healthz"
            and headers["Content-Type"].lower().startswith("application/json")}  # fmt: skip


def exchange(address: tuple[str, int], req: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    lines = [f"{req['method']} {req['path']} HTTP/1.1", "Host: fuzz",
             f"Content-Length: {req['length']}",
             *(f"{k}: {v}" for k, v in req["headers"].items())]  # fmt: skip
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + req["body"]
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(raw)
        return read_response(sock)


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed without an answer after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-answer"
        body += chunk
    return int(status_line.split(" ")[1]), headers, body


def count(engine: Engine, schema: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f'SELECT count(*) FROM "{schema}"._webhook_events')).scalar_one()


def payload_of(engine: Engine, schema: str, event_id: str) -> Any:
    query = text(f'SELECT payload FROM "{schema}"._webhook_events WHERE event_id = :id')
    with engine.connect() as conn:
        return conn.execute(query, {"id": event_id}).scalar_one()


def fresh(sent: dict) -> bool:
    created = sent.get("created")
    return created is None or time.time() - created <= DEFAULT_TOLERANCE_S


SLOW_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=SLOW_OK)
@given(req=requests())
def test_every_request_gets_one_allowed_json_answer_and_is_stored_iff_2xx(
    fuzz_target: tuple[WebhookServer, str], pg_engine: Engine, req: dict[str, Any],
    capfd: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    server, schema = fuzz_target
    before = count(pg_engine, schema)
    status, headers, body = exchange(server.server_address, req)
    assert "Traceback" not in capfd.readouterr().err
    assert status in ALLOWED, (status, body)
    event(f"answered {status}")  # the statistics show how the cases spread
    assert headers["content-type"] == "application/json"
    answer = orjson.loads(body)
    after = count(pg_engine, schema)
    assert after - before == (answer.get("status") == "stored")  # stored iff 2xx "stored"
    if status != 200:
        assert isinstance(answer["error"], str) and answer["error"]
        return
    if req["path"] == "/healthz":
        assert req["method"] in ("GET", "HEAD") and answer["status"] == "ok"
        return
    assert answer["status"] in ("stored", "duplicate")
    if answer["status"] == "stored":
        assert same_json(payload_of(pg_engine, schema, answer["id"]),
                         sanitize(json.loads(req["body"])))  # fmt: skip
    sent = req["sent"]
    if req["well_formed"] and sent is not None and acceptable(sent) and fresh(sent):
        assert status == 200  # a storable delivery is never refused


def test_hostile_bodies_log_one_line_each_and_no_traceback(
    fuzz_target: tuple[WebhookServer, str], capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    server, _ = fuzz_target
    bodies = [b"\xff\xfe", b"[" * 5000, dumps({"id": "\x00", "type": "\ud800", "created": 1e300})]
    for body in bodies:
        headers = {"Content-Type": "application/json", HEADER: sign(SECRET, body)}
        req = {"method": "POST", "path": "/", "length": str(len(body)), "body": body,
               "headers": headers}  # fmt: skip
        assert exchange(server.server_address, req)[0] == 400
    assert "Traceback" not in capfd.readouterr().err
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in caplog.records)
