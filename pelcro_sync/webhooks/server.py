"""The webhook receiver as an ASGI app: verify each delivery, store it once, answer 2xx fast.

Every request gets one deterministic JSON answer: 200 once the event is committed, a 4xx
naming why a delivery can never be stored, 503 only when the warehouse does not answer (the
sender's retry then lands it), and 500 with an error id for a fault of ours, logged as one
redacted line. Applying events to the entity tables happens elsewhere (`apply.py`), so a
slow warehouse write never makes Pelcro time out and retry. `protocol.py` serves it.
"""

import asyncio
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import orjson
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from pelcro_sync.config import Secret
from pelcro_sync.redact import one_line, redact
from pelcro_sync.warehouse.engine import check_connection
from pelcro_sync.warehouse.errors import WarehouseError
from pelcro_sync.warehouse.warehouse import Warehouse
from pelcro_sync.webhooks.events import EnvelopeError, parse_envelope
from pelcro_sync.webhooks.signature import DEFAULT_TOLERANCE_S, HEADER, is_stale, verify
from pelcro_sync.webhooks.store import record_event

log = logging.getLogger("pelcro_sync.webhooks")
MAX_BODY = 1024 * 1024  # Pelcro's largest documented payloads are a few KiB
REQUEST_DEADLINE_S = 10.0  # headers and body, together, from the request's first byte
WORKER_THREADS = 8  # verify + parse + INSERT run here; the engine's pool holds 20
HEALTH_PATH = "/healthz"
_LENGTH = re.compile(r"[0-9]{1,19}")  # ASCII digits only ("²" passes `str.isdigit`)
# Characters that would start a new line or rewrite one in a log file.
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(32), 127)} | {
    0x85: "\\x85",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


@dataclass(frozen=True)
class Receiver:
    """What the app needs: where to store, and how to tell a genuine delivery."""

    warehouse: Warehouse
    secret: Secret
    max_body: int = MAX_BODY
    tolerance_s: float = DEFAULT_TOLERANCE_S
    deadline_s: float = REQUEST_DEADLINE_S
    threads: int = WORKER_THREADS  # bounds the threads, whatever the connections


class Refused(Exception):
    """A delivery we will not store: HTTP status and a reason safe to show and log."""

    def __init__(self, status: int, reason: str, *, close: bool = False, **headers: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        # Refused before its body was read (or the server at fault): end the connection
        # rather than read and discard up to a megabyte.
        self.headers = {**headers, "connection": "close"} if close or status >= 500 else headers


class ClientGone(Exception):
    """The client hung up (or the connection's deadline answered it): nothing to send."""


def log_field(text: str, *, limit: int = 120) -> str:
    """`text` fit for one log line: control characters escaped, secrets masked, shortened."""
    return redact(text[:limit].translate(_CONTROL))


def json_response(status: int, answer: Mapping[str, Any], **headers: str) -> Response:
    return Response(
        orjson.dumps(answer), status_code=status, headers=headers, media_type="application/json"
    )


class WebhookApp:
    """The ASGI callable: POST (any path) receives a delivery; GET /healthz checks the database."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self._limiter: anyio.CapacityLimiter | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan is off; websockets are not served
            return
        try:
            response = await self._route(scope, receive)
        except ClientGone:
            return
        except Refused as refused:
            log.warning("webhook refused (%d): %s", refused.status, log_field(refused.reason))
            response = json_response(refused.status, {"error": refused.reason}, **refused.headers)
        except Exception as exc:  # a fault of ours: one line with an id, never a traceback
            error_id = uuid.uuid4().hex[:12]
            log.error(
                "webhook error %s: %s",
                error_id,
                one_line(f"{type(exc).__name__}: {exc}", limit=300),
            )
            response = json_response(
                500, {"error": f"internal error (error {error_id})"}, connection="close"
            )
        await response(scope, receive, send)

    async def _route(self, scope: Scope, receive: Receive) -> Response:
        method, path = scope["method"], scope["path"]
        if path == HEALTH_PATH:
            if method not in ("GET", "HEAD"):
                raise Refused(405, "only GET is accepted here", allow="GET, HEAD")
            return await self._health()
        if method != "POST":
            raise Refused(405, "only POST is accepted", allow="POST")
        headers = Headers(scope=scope)
        body = await self._read_body(headers, receive)
        answer = await self._in_thread(self._store, body, headers.get(HEADER))
        return json_response(200, answer)

    async def _health(self) -> Response:
        try:
            version = await self._in_thread(check_connection, self.receiver.warehouse.engine)
        except WarehouseError as exc:
            log.warning("webhook health check failed: %s", log_field(str(exc), limit=300))
            return json_response(503, {"status": "unavailable", "database": "unreachable"})
        return json_response(200, {"status": "ok", "database": f"postgres {version}"})

    async def _read_body(self, headers: Headers, receive: Receive) -> bytes:
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise Refused(415, "Content-Type must be application/json", close=True)
        if "transfer-encoding" in headers:
            raise Refused(411, "send a Content-Length, not a chunked body", close=True)
        raw = headers.get("content-length", "").strip()
        if not _LENGTH.fullmatch(raw):
            raise Refused(
                411 if not raw else 400, "Content-Length is required (ASCII digits)", close=True
            )
        length, limit = int(raw), self.receiver.max_body
        if length > limit:
            raise Refused(413, f"body larger than {limit} bytes", close=True)
        chunks: list[bytes] = []
        try:
            # The connection's own deadline (protocol.py) started earlier and answers first;
            # this one holds when the app runs under another server.
            async with asyncio.timeout(self.receiver.deadline_s):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise ClientGone
                    chunks.append(message.get("body", b""))
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            deadline = self.receiver.deadline_s
            raise Refused(408, f"request not complete within {deadline:g} s", close=True) from None
        body = b"".join(chunks)
        if len(body) != length:
            raise Refused(400, "body length differs from its Content-Length", close=True)
        return body

    async def _in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._limiter is None:  # made on the event loop that uses it
            self._limiter = anyio.CapacityLimiter(self.receiver.threads)
        return await anyio.to_thread.run_sync(fn, *args, limiter=self._limiter)

    def _store(self, body: bytes, signature: str | None) -> dict[str, str]:
        """Verify, parse and commit one delivery (in a worker thread: all of it blocks)."""
        rcv = self.receiver
        if not verify(rcv.secret.reveal(), body, signature):
            raise Refused(401, f"missing or invalid {HEADER} signature")
        try:
            event = parse_envelope(body)
        except EnvelopeError as exc:
            raise Refused(400, str(exc)) from None
        if is_stale(event.created, tolerance_s=rcv.tolerance_s):
            raise Refused(400, "stale event: `created` is older than the tolerance")
        try:
            with rcv.warehouse.begin() as conn:
                outcome = record_event(conn, event, warehouse=rcv.warehouse)
        except SQLAlchemyError as exc:
            raise _warehouse_refusal(exc, event.event_id) from None
        log.info("webhook %s %s: %s", log_field(event.event_id), log_field(event.type), outcome)
        return {"status": outcome, "id": event.event_id}


def _warehouse_refusal(exc: SQLAlchemyError, event_id: str) -> Refused:
    """What to answer when the INSERT failed: 503 (retry later) only for an outage.

    A value the database refuses (DataError) fails the same way on every retry: 400. The
    envelope checks are meant to leave none; one that slips through is logged with an id.
    """
    error_id = uuid.uuid4().hex[:12]
    detail = one_line(str(exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc), limit=300)
    log.error("webhook %s not stored (error %s): %s", log_field(event_id), error_id, detail)
    if isinstance(exc, DataError):
        return Refused(400, f"the warehouse refused a value in this event (error {error_id})")
    if isinstance(exc, PoolTimeout | DisconnectionError) or (
        isinstance(exc, DBAPIError) and not isinstance(exc, IntegrityError)
    ):  # no connection, a lost one, a schema not migrated yet: fixed outside, then retried
        return Refused(503, "warehouse unavailable; retry later", retry_after="30")
    return Refused(500, f"event not stored (error {error_id})")
