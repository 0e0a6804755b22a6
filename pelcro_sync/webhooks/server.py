"""`pelcro-sync webhooks serve`: verify each delivery, store it once, answer 2xx fast.

Applying events to the entity tables happens elsewhere (`apply.py`), so a slow warehouse
write never makes Pelcro time out and retry. Stdlib `http.server` suffices: Pelcro's
delivery rate is low and every request is one small INSERT; run it behind a TLS proxy.
"""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
from sqlalchemy.exc import SQLAlchemyError

from pelcro_sync.config import Secret
from pelcro_sync.redact import one_line
from pelcro_sync.warehouse.warehouse import Warehouse
from pelcro_sync.webhooks.events import EnvelopeError, parse_envelope
from pelcro_sync.webhooks.signature import DEFAULT_TOLERANCE_S, HEADER, is_stale, verify
from pelcro_sync.webhooks.store import record_event

log = logging.getLogger("pelcro_sync.webhooks")
MAX_BODY = 1024 * 1024  # Pelcro's largest documented payloads are a few KiB
READ_TIMEOUT_S = 10.0  # a client that stalls mid-body must not hold a thread forever


@dataclass(frozen=True)
class Receiver:
    """What the handler needs: where to store, and how to tell a genuine delivery."""

    warehouse: Warehouse
    secret: Secret
    max_body: int = MAX_BODY
    tolerance_s: float = DEFAULT_TOLERANCE_S


class Refused(Exception):
    """A delivery we will not store: HTTP status and a reason safe to show and log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class WebhookServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], receiver: Receiver) -> None:
        super().__init__(address, WebhookHandler)
        self.receiver = receiver

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/"


class WebhookHandler(BaseHTTPRequestHandler):
    server: WebhookServer
    timeout = READ_TIMEOUT_S
    server_version = "pelcro-sync-webhooks"
    sys_version = ""

    def do_POST(self) -> None:
        try:
            status, answer = 200, self._receive()
        except Refused as refused:
            status, answer = refused.status, {"error": refused.reason}
            self.close_connection = True  # an unread body must not be parsed as a request
            log.warning("webhook refused (%d): %s", status, refused.reason)
        self._send(status, answer)

    def _refuse_method(self) -> None:
        self.close_connection = True
        self._send(405, {"error": "only POST is accepted"}, allow="POST")

    do_GET = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _refuse_method

    def _receive(self) -> dict[str, str]:
        rcv = self.server.receiver
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise Refused(415, "Content-Type must be application/json")
        body = self._read_body(rcv.max_body)
        if not verify(rcv.secret.reveal(), body, self.headers.get(HEADER)):
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
            # 503 makes Pelcro retry later; nothing was stored.
            log.error("webhook %s not stored: %s", event.event_id, one_line(str(exc), limit=300))
            raise Refused(503, "warehouse unavailable; retry later") from None
        log.info("webhook %s %s: %s", event.event_id, event.type, outcome)
        return {"status": outcome, "id": event.event_id}

    def _read_body(self, limit: int) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            raise Refused(411, "send a Content-Length, not a chunked body")
        raw = self.headers.get("Content-Length")
        if raw is None or not raw.strip().isdigit():
            raise Refused(411, "Content-Length is required")
        length = int(raw)
        if length > limit:
            raise Refused(413, f"body larger than {limit} bytes")
        body = self.rfile.read(length)
        if len(body) != length:
            raise Refused(400, "body shorter than its Content-Length")
        return body

    def _send(self, status: int, answer: dict[str, str], **headers: str) -> None:
        payload = orjson.dumps(answer)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name.title(), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        # The access log goes through logging (and its redaction), never raw to stderr.
        log.debug("%s %s", self.address_string(), one_line(format % args, limit=300))


@contextmanager
def running(
    receiver: Receiver, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[WebhookServer]:
    """Serve in a background thread until the block exits; port 0 picks a free port."""
    server = WebhookServer((host, port), receiver)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        daemon=True,
        name="pelcro-webhooks",
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
