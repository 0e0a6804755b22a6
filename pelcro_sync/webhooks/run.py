"""What `pelcro-sync webhooks serve` and `webhooks apply` do, apart from argument parsing."""

import logging
import signal
from types import FrameType
from typing import Any

from rich.console import Console

from pelcro_sync.config import Secret, Settings
from pelcro_sync.errors import ConfigError
from pelcro_sync.warehouse.warehouse import open_warehouse
from pelcro_sync.webhooks.apply import ApplyCounts, apply_pending
from pelcro_sync.webhooks.server import Receiver, WebhookServer
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
    """Receive webhooks until interrupted, on a migrated warehouse."""
    secret = require_secret(settings)  # before any I/O: a missing secret is a one-liner
    warehouse = open_warehouse(settings)
    receiver = Receiver(warehouse, secret, tolerance_s=tolerance_s)
    server = WebhookServer((host, port), receiver)
    if not logging.getLogger().isEnabledFor(logging.INFO):
        logging.getLogger("pelcro_sync.webhooks").setLevel(logging.INFO)
    previous = _stop_on_sigterm()
    try:
        # Announced inside the try: a stop signal right after the announcement (a test, a
        # supervisor that waited for it) still ends the server here, not as an error.
        console.print(
            f"receiving Pelcro webhooks on {server.url} -> {warehouse.where}; "
            "put it behind TLS. Ctrl-C stops.",
            soft_wrap=True,
        )
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        warehouse.dispose()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _stop_on_sigterm() -> Any:
    """Stop on SIGTERM (what a container stop or a process manager sends) as on Ctrl-C:
    the server closed and the engine's connections ended, not cut off. The handler it
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
