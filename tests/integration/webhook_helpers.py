"""Shared by the webhook hardening tests: a migrated schema, signed deliveries, raw HTTP."""

import json
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson
from sqlalchemy import Engine, text

from pelcro_sync.webhooks.signature import HEADER, sign

SECRET = "whsec_hardening_8d1e4f"


@contextmanager
def schema_for_module(pg_url: str, pg_engine: Engine) -> Iterator[str]:
    """One migrated schema, dropped at the end: migrating per test would cost 0.5 s each."""
    from pelcro_sync.warehouse.migrate import upgrade

    schema = f"wh_{uuid.uuid4().hex[:8]}"
    upgrade(pg_url, schema=schema)
    try:
        yield schema
    finally:
        with pg_engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def empty_events(engine: Engine, schema: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f'TRUNCATE "{schema}"._webhook_events, "{schema}"._webhook_applied')


def envelope(event_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    obj = {"object": "customer", "id": 5121, "site_id": 85, "email": "a@example.com"}
    return {"type": "customer.updated", "id": event_id or f"evt_{uuid.uuid4().hex[:20]}",
            "created": int(time.time()), "data": {"object": obj}, **overrides}  # fmt: skip


def post(url: str, body: bytes, *, signed: bool = True, client: httpx.Client | None = None,
         **headers: str) -> httpx.Response:  # fmt: skip
    base = {"Content-Type": "application/json"}
    if signed:
        base[HEADER] = sign(SECRET, body)
    sender = client or httpx
    return sender.post(url, content=body, headers={**base, **headers}, timeout=15)


def body_of(payload: Any) -> bytes:
    """JSON as a sender might write it: the standard library keeps integers beyond 64 bits
    exact and writes NUL and lone surrogates as \\u escapes."""
    return json.dumps(payload, separators=(",", ":")).encode()


def post_json(url: str, payload: Any, **kwargs: Any) -> httpx.Response:
    return post(url, body_of(payload), **kwargs)


def raw_exchange(address: tuple[str, int], request: bytes, *, timeout: float = 10) -> bytes:
    """Send `request` bytes as they are and read until the server closes or goes quiet."""
    chunks = []
    with socket.create_connection(address, timeout=timeout) as sock:
        sock.sendall(request)
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
    return b"".join(chunks)


def stored(engine: Engine, schema: str) -> dict[str, Any]:
    """The stored events by id."""
    with engine.connect() as conn:
        rows = conn.execute(text(f'SELECT * FROM "{schema}"._webhook_events'))
        return {r.event_id: r for r in rows}


def head_and_json(raw: bytes) -> tuple[str, Any]:
    """The status line and the JSON body of one raw HTTP response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), orjson.loads(body) if body else None
