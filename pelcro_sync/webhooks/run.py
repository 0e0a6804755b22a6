"""What `pelcro-sync webhooks serve` and `webhooks apply` do, apart from argument parsing."""

import contextlib
import logging
import resource
import signal
from dataclasses import replace
from types import FrameType
from typing import Any

from rich.console import Console

from pelcro_sync.config import Secret, Settings
from pelcro_sync.errors import ConfigError
from pelcro_sync.warehouse.warehouse import open_warehouse
from pelcro_sync.webhooks.apply import ApplyCounts, apply_pending
from pelcro_sync.webhooks.protocol import Limits, WebhookServer
from pelcro_sync.webhooks.server import Receiver
from pelcro_sync.webhooks.signature import DEFAULT_TOLERANCE_S


def require_secret(settings: Settings) -> Secret:
    if settings.webhook_secret is None:
        raise ConfigError(
            "PELCRO_WEBHOOK_SECRET is not set: copy the webhook signing secret from Pelcro "
            "(Settings → Notifications) into it"
        )
    return settings.webhook_secret


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    console: Console,
) -> None:
    """Receive webhooks until interrupted (Ctrl-C, SIGTERM), on a migrated warehouse."""
    secret = require_secret(settings)  # before any I/O: a missing secret is a one-liner
    warehouse = open_warehouse(settings)
    receiver = Receiver(warehouse, secret, tolerance_s=tolerance_s)
    try:
        server = WebhookServer(receiver, host=host, port=port, limits=_limits())
    except OSError as exc:
        warehouse.dispose()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    if not logging.getLogger().isEnabledFor(logging.INFO):
        logging.getLogger("pelcro_sync.webhooks").setLevel(logging.INFO)

    def announce() -> None:
        # Printed once the server takes connections and its stop signals are handled, so a
        # signal right after it (a test, a supervisor that waited for it) stops it cleanly.
        console.print(
            f"receiving Pelcro webhooks on {server.url} -> {warehouse.where}; "
            "put it behind TLS. Ctrl-C stops.",
            soft_wrap=True,
        )

    previous = _stop_on_sigterm()
    try:
        server.serve(on_ready=announce)
    except KeyboardInterrupt:  # a stop before the server took over the signals
        pass
    finally:
        server.close()
        warehouse.dispose()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _limits() -> Limits:
    """The default limits, with the connection cap kept under the open-files limit: out of
    descriptors, accept() fails and connections wait unanswered."""
    limits = Limits()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = limits.max_connections + 100  # the database pool, logs, the listening socket
    if soft != resource.RLIM_INFINITY and soft < want:
        soft = want if hard == resource.RLIM_INFINITY else min(want, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return replace(limits, max_connections=max(16, min(limits.max_connections, soft - 100)))


def _stop_on_sigterm() -> Any:
    """Stop on SIGTERM (what a container stop or a process manager sends) as on Ctrl-C, until
    the server installs its own handlers (and after it restores these). The handler it
    replaces, or None where signals cannot be handled (not the main thread)."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, stop)
    except ValueError:
        return None


def apply_once(settings: Settings, *, limit: int, console: Console) -> ApplyCounts:
    """Apply every pending event once and print the counts."""
    with open_warehouse(settings) as warehouse:
        counts = apply_pending(warehouse, default_site_id=default_site(settings), limit=limit)
    console.print(", ".join(f"{k} {v}" for k, v in counts.as_dict().items()))
    return counts


def default_site(settings: Settings) -> int | None:
    """The site for objects that name none: PELCRO_SITE_ID when it names exactly one."""
    return settings.site_ids[0] if len(settings.site_ids) == 1 else None
