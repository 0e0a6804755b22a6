"""Running a sandbox: in a background thread for tests, or in the foreground for the CLI."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pelcro_sandbox.config import SandboxConfig
from pelcro_sandbox.oauth import OAuthClient
from pelcro_sandbox.routes import PREFIX
from pelcro_sandbox.sandbox import Sandbox
from pelcro_sandbox.server import SandboxServer


@dataclass
class Running:
    """A sandbox listening on a port: where it is and how to get in."""

    sandbox: Sandbox
    port: int
    host: str
    oauth_client: OAuthClient

    @property
    def oauth_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.oauth_url}{PREFIX}"

    @property
    def admin_url(self) -> str:
        return f"{self.oauth_url}/_sandbox"

    @property
    def api_key(self) -> str:
        return self.sandbox.api_key

    @property
    def site_ids(self) -> list[int]:
        return self.sandbox.site_ids

    def summary(self) -> dict[str, object]:
        """What the `pelcro-sync sandbox` command prints."""
        return {
            "base_url": self.base_url,
            "oauth_url": self.oauth_url,
            "api_key": self.api_key,
            "site_ids": self.site_ids,
            "oauth_client_id": self.oauth_client.client_id,
            "oauth_client_secret": self.oauth_client.client_secret,
            "oauth_redirect_uri": self.oauth_client.redirect_uri,
            "admin_url": self.admin_url,
        }


@contextmanager
def serve(sandbox: Sandbox, *, port: int = 0, host: str = "127.0.0.1") -> Iterator[Running]:
    """Serve in a background thread until the block exits; port 0 picks a free port."""
    server = SandboxServer((host, port), sandbox)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="pelcro-sandbox",
        daemon=True,
    )
    thread.start()
    try:
        yield Running(sandbox, server.server_address[1], host, sandbox.oauth_client)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def serve_forever(
    config: SandboxConfig | None = None,
    port: int = 8765,
    host: str = "127.0.0.1",
    *,
    on_ready: Callable[[Running], None] | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve in the foreground until interrupted. `on_ready` gets the connection details;
    without it, each one goes to `announce` as a "name: value" line."""
    sandbox = Sandbox(config)
    server = SandboxServer((host, port), sandbox)
    running = Running(sandbox, server.server_address[1], host, sandbox.oauth_client)
    if on_ready is None:
        for name, value in running.summary().items():
            announce(f"{name}: {value}")
    else:
        on_ready(running)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
