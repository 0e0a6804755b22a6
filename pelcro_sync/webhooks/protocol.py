"""The webhook app on uvicorn (HTTP/1.1, keep-alive), hardened for the open internet.

uvicorn's own timeouts are per read or per idle spell: a client sending one header byte
every few seconds holds a connection forever. `GuardedH11` adds what a hostile network
needs, at the connection, where no app code runs yet:
- one deadline per request, from its first byte (or the connection's opening) until its
  body is in, answered with 408;
- a cap on open connections: one beyond it is answered 503 at once;
- a JSON answer for every refusal, including malformed HTTP and a stop mid-request.
"""

import asyncio
import contextlib
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from typing import Any

import orjson
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from pelcro_sync.redact import one_line
from pelcro_sync.webhooks.server import REQUEST_DEADLINE_S, Receiver, WebhookApp

log = logging.getLogger("pelcro_sync.webhooks")
LINGER_S = 1.0  # after a final answer: time for the client to read it before the close
SUMMARY_S = 10.0  # connection-level refusals are logged at most once this often, counted


class _Tally:
    """One log line per kind of refusal every SUMMARY_S, with how many there were: a flood
    of slow connections must not become a flood of log lines."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.last: dict[str, float] = {}

    def note(self, kind: str, now: float) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if now - self.last.get(kind, -SUMMARY_S) >= SUMMARY_S:
            log.warning(
                "webhook connections %s: %d since the last report", kind, self.counts.pop(kind)
            )
            self.last[kind] = now


_tally = _Tally()  # the event loop's thread is the only one that touches it


@dataclass(frozen=True)
class Limits:
    """What one receiver holds at most, and for how long."""

    max_connections: int = 1000  # a slow connection costs a socket and ~20 KiB, no thread
    deadline_s: float = REQUEST_DEADLINE_S
    keep_alive_s: float = 5.0  # an idle keep-alive connection is closed after this
    backlog: int = 2048


def canned(status: int, answer: dict[str, str], **headers: str) -> bytes:
    """A complete HTTP/1.1 response that closes the connection, for answers given below the
    app (no request parsed, or one given up on)."""
    body = orjson.dumps(answer)
    lines = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
        *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class GuardedH11(H11Protocol):
    """uvicorn's h11 protocol with a per-request deadline, a connection cap and JSON refusals."""

    def __init__(self, *args: Any, limits: Limits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self._deadline: asyncio.TimerHandle | None = None
        self._ended = False  # answered below the app: ignore whatever else arrives

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if len(self.connections) >= self.limits.max_connections:
            self.transport = transport  # type: ignore[assignment]
            _tally.note(f"refused at the cap of {self.limits.max_connections}", self.loop.time())
            self._answer(503, "too many connections; retry later", retry_after="5")
            return
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm()  # a connection that never sends a byte is bounded too

    def data_received(self, data: bytes) -> None:
        if self._ended:
            return
        if self._between_requests():
            self._arm()  # the first byte of a request starts its clock
        super().data_received(data)
        self._settle()

    def on_response_complete(self) -> None:
        self._disarm()
        super().on_response_complete()
        self._settle()  # a pipelined request may have started

    def send_400_response(self, msg: str) -> None:
        # uvicorn calls this inside its `except h11.RemoteProtocolError`: name h11's reason.
        reason = str(sys.exception() or msg)
        self._answer(400, f"invalid HTTP request: {one_line(reason, limit=120)}")

    def shutdown(self) -> None:
        if self._deadline is not None and not self._ended:  # a request is still arriving
            self._answer(503, "server stopping; retry later", retry_after="5")
            return
        super().shutdown()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self.flow is None:  # refused in connection_made: nothing of uvicorn's to undo
            return
        super().connection_lost(exc)

    # -- the deadline -----------------------------------------------------------------------
    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _settle(self) -> None:
        """Stop the clock once the request's body is in (or its answer has begun)."""
        cycle = self.cycle
        if self._between_requests():
            return
        if cycle.more_body and not cycle.response_started:
            self._arm()
        else:
            self._disarm()

    def _arm(self) -> None:
        if self._deadline is None and not self._ended:
            self._deadline = self.loop.call_later(self.limits.deadline_s, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self._ended or self.transport.is_closing():
            return
        _tally.note(
            f"answered 408 (request not in within {self.limits.deadline_s:g} s)", self.loop.time()
        )
        self._answer(408, f"request not complete within {self.limits.deadline_s:g} s")

    def _answer(self, status: int, reason: str, **headers: str) -> None:
        """Answer `status` below the app and end the connection once the client has it."""
        self._ended = True
        self._disarm()
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # the app, if waiting for the body, stops here
            cycle.message_event.set()
        transport = self.transport
        transport.write(canned(status, {"error": reason}, **headers))
        # FIN after the answer, then keep reading (and discarding) a moment: closing with
        # unread bytes would send a reset, which can destroy the answer in flight.
        if transport.can_write_eof():
            transport.write_eof()
        transport.resume_reading()
        self.loop.call_later(LINGER_S, transport.close)

    def timeout_keep_alive_handler(self) -> None:
        if not self._ended:
            super().timeout_keep_alive_handler()


class _Server(uvicorn.Server):
    """uvicorn's server, announcing readiness, and stopping on SIGINT/SIGTERM without
    re-raising the signal afterwards (uvicorn does, which would end us with status 130/-15
    instead of returning to the caller's cleanup)."""

    on_ready: Callable[[], None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.on_ready is not None and not self.should_exit:
            self.on_ready()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        stops = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in stops}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class WebhookServer:
    """The receiver bound to `host:port` (0: a free port) at construction; `serve` runs it."""

    def __init__(
        self,
        receiver: Receiver,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: Limits | None = None,
    ) -> None:
        self.limits = limits or Limits(deadline_s=receiver.deadline_s)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.create_server((host, port), family=family, backlog=self.limits.backlog)
        config = uvicorn.Config(
            WebhookApp(receiver),
            http=partial(GuardedH11, limits=self.limits),  # type: ignore[arg-type]
            lifespan="off",
            ws="none",
            loop="asyncio",
            interface="asgi3",
            log_config=None,
            access_log=False,
            server_header=False,
            backlog=self.limits.backlog,
            timeout_keep_alive=int(self.limits.keep_alive_s),
            timeout_graceful_shutdown=int(self.limits.deadline_s) + 5,
        )
        self._server = _Server(config)

    @property
    def server_address(self) -> tuple[str, int]:
        host, port = self.socket.getsockname()[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.server_address
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"

    def serve(self, *, on_ready: Callable[[], None] | None = None) -> None:
        """Serve until `stop()`, SIGINT or SIGTERM; `on_ready` runs once connections are taken."""
        self._server.on_ready = on_ready
        asyncio.run(self._main())

    def stop(self) -> None:
        """Ask the server to stop (from any thread): it answers what is in flight first."""
        self._server.should_exit = True

    def close(self) -> None:
        self.socket.close()

    async def _main(self) -> None:
        asyncio.get_running_loop().set_exception_handler(_log_loop_error)
        try:
            await self._server.serve(sockets=[self.socket])
        finally:
            self.socket.close()


def _log_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """asyncio's default handler prints a traceback (e.g. accept() out of file descriptors):
    one line instead."""
    exc = context.get("exception")
    detail = f"{type(exc).__name__}: {exc}" if exc else ""
    log.error("webhook server: %s %s", context.get("message", ""), one_line(detail, limit=300))


@contextlib.contextmanager
def running(
    receiver: Receiver, *, host: str = "127.0.0.1", port: int = 0, limits: Limits | None = None
) -> Iterator[WebhookServer]:
    """Serve in a background thread until the block exits; port 0 picks a free port."""
    server = WebhookServer(receiver, host=host, port=port, limits=limits)
    ready = threading.Event()
    thread = threading.Thread(
        target=server.serve, kwargs={"on_ready": ready.set}, daemon=True, name="pelcro-webhooks"
    )
    thread.start()
    if not ready.wait(timeout=10):
        raise RuntimeError("the webhook server did not start within 10 s")
    try:
        yield server
    finally:
        server.stop()
        thread.join(timeout=30)
