"""The HTTP server: a threading stdlib server that authenticates, throttles, delays, injects
faults and routes to the Core API, OAuth and admin handlers."""

import contextlib
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from pelcro_sandbox import admin
from pelcro_sandbox.errors import ApiError, message
from pelcro_sandbox.faults import HTML_502, draw_fault, draw_latency, request_rng
from pelcro_sandbox.routes import PREFIX, core_get
from pelcro_sandbox.sandbox import Sandbox


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        super().__init__(address, Handler)
        self.sandbox = sandbox

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer (a cancelled page, a killed sync) is routine.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    @property
    def origin(self) -> str:
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else host
        return f"http://{name}:{port}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients can pool connections
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: SandboxServer
    server_version = "nginx"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests and the CLI print what matters

    # --- verbs -------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        body = self._read_body()
        try:
            if url.path.startswith(PREFIX + "/") or url.path == PREFIX:
                self._core(method, url.path[len(PREFIX) :], params)
            elif url.path.startswith("/oauth/"):
                self._oauth(method, url.path, params, body)
            elif url.path.startswith("/_sandbox/") and admin.allowed(self.client_address[0]):
                status, payload = admin.handle(
                    self.server.sandbox, method, url.path, params, body, origin=self.server.origin
                )
                self._json(status, payload)
            else:
                self._json(404, {"message": "Not Found"})
        except ApiError as err:
            self._json(err.status, err.body, err.headers)
        except (KeyError, ValueError) as err:  # admin-input mistakes
            self._json(400, {"message": str(err)})

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # --- Core API ----------------------------------------------------------------------
    def _core(self, method: str, path: str, params: dict[str, str]) -> None:
        sandbox = self.server.sandbox
        fault, (account_id, restricted), headers = self._admit()
        if fault == "html_502":
            return self._send(502, HTML_502, {"Content-Type": "text/html"}, record=True)
        if fault == "http_503":
            self._record(503)
            # INFERRED: Laravel's maintenance-mode body; Retry-After invites a retry.
            raise ApiError(503, {"message": "Service Unavailable"}, {"Retry-After": "1"})
        if fault == "slow":
            time.sleep(sandbox.config.faults.slow_seconds)
        try:
            if method != "GET":
                # INFERRED: the sandbox is read-only over HTTP; Laravel answers 405.
                raise message(405, f"The {method} method is not supported for this route.")
            status, body = core_get(
                sandbox,
                account_id=account_id,
                restricted=restricted,
                path=path,
                params=params,
                base_url=self.server.origin,
            )
        except ApiError as err:
            self._record(err.status)
            raise ApiError(err.status, err.body, {**headers, **err.headers}) from None
        self._record(status)
        if fault == "drop":
            return self._drop(status, body, headers)
        if fault == "truncated":
            body = body[: max(1, len(body) // 2)]
        self._send(status, body, {"Content-Type": "application/json", **headers})

    def _admit(self) -> tuple[str | None, tuple[int, bool], dict[str, str]]:
        """Number the request, draw its fault and delay, sleep, authenticate, throttle."""
        sandbox = self.server.sandbox
        with sandbox.stats_lock:
            sandbox.stats.requests += 1
            number = sandbox.stats.requests
        rng = request_rng(sandbox.config.seed, number)
        fault = draw_fault(rng, sandbox.config.faults)
        delay = draw_latency(rng, sandbox.config.latency, sandbox.config.latency_jitter)
        if delay > 0:
            time.sleep(delay)  # outside every lock: concurrent requests overlap
        try:
            who = sandbox.keys.authenticate(self.headers.get("Authorization"))
            headers = sandbox.limiter.admit(who[0])
        except ApiError as err:
            self._record(err.status)
            raise
        if fault:
            with sandbox.stats_lock:
                sandbox.stats.faults[fault] = sandbox.stats.faults.get(fault, 0) + 1
        return fault, who, headers

    def _record(self, status: int) -> None:
        sandbox = self.server.sandbox
        with sandbox.stats_lock:
            stats = sandbox.stats
            stats.by_status[status] = stats.by_status.get(status, 0) + 1
            if status == 429:
                stats.throttled += 1
            elif status != 401:
                stats.served.append(time.time())

    def _drop(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        """Announce the full body, send part of it, then cut the connection."""
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: max(1, len(body) // 3)])
        self.wfile.flush()
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client may have gone already
            self.connection.shutdown(socket.SHUT_RDWR)

    # --- OAuth -------------------------------------------------------------------------
    def _oauth(self, method: str, path: str, params: dict[str, str], body: bytes) -> None:
        oauth = self.server.sandbox.oauth
        if path == "/oauth/authorize" and method == "GET":
            location = oauth.authorize(params)
            return self._send(302, b"", {"Location": location})
        if path == "/oauth/token" and method == "POST":
            return self._json(200, oauth.token(_parse_body(body, self.headers)))
        self._json(404, {"message": "Not Found"})

    # --- output ------------------------------------------------------------------------
    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(
            status, orjson.dumps(payload), {"Content-Type": "application/json", **(headers or {})}
        )

    def _send(
        self, status: int, body: bytes, headers: dict[str, str], *, record: bool = False
    ) -> None:
        if record:
            self._record(status)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _parse_body(body: bytes, headers: Any) -> dict[str, Any]:
    if not body:
        return {}
    if "json" in (headers.get("Content-Type") or "json"):
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise message(400, "The request body is not valid JSON.") from None
        return parsed if isinstance(parsed, dict) else {}
    return dict(parse_qsl(body.decode()))
