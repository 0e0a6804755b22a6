"""`pelcro-sync check`'s webhook part: the registered endpoints and what they leave uncovered."""

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from pelcro_sync.api import webhook_endpoints
from pelcro_sync.api.client import PelcroClient
from pelcro_sync.errors import ApiError


def report(
    client: PelcroClient, *, entities: Sequence[str], site_id: int | None, console: Console
) -> list[str]:
    """Print the endpoints and one warning per synced entity no webhook covers; return
    those entities (subscriptions first). A refused list is a note, not a failure."""
    try:
        records = client.webhook_endpoints(site_id=site_id)
    except ApiError as exc:
        console.print(f"webhooks: could not list them (HTTP {exc.status}); not checked")
        return []
    endpoints = webhook_endpoints.parse(records)
    table = Table(title=f"Webhook endpoints ({len(endpoints)} of at most 10)", title_justify="left")
    for col in ("id", "url", "status", "events"):
        table.add_column(col)
    for e in endpoints:
        events = "all events" if e.all_events else ", ".join(e.events) or "-"
        table.add_row(str(e.id or "-"), e.url, e.status, events)
    console.print(table)
    missing = webhook_endpoints.uncovered(endpoints, entities)
    for name in missing:
        console.print(
            f"warning: no enabled webhook covers {name} "
            f"({webhook_endpoints.EVENT_PREFIX[name]}_* events): changes reach the warehouse "
            "only with the next reconcile scan",
            style="yellow",
            soft_wrap=True,
        )
    return missing
