"""The reconcile scan's columns of `pelcro-sync status`: last complete scan, scan in flight."""

from datetime import UTC, datetime

from pelcro_sync.pipeline.timebox import page_share, pages_of
from pelcro_sync.warehouse.status import EntityStatus

COLUMNS = ("last complete scan", "scan in flight")


def cells(row: EntityStatus, *, now: datetime | None = None) -> tuple[str, str]:
    """The two cells of one status line, in COLUMNS order."""
    return age(row.last_complete_scan_at, now=now), in_flight(row)


def age(moment: datetime | None, *, now: datetime | None = None) -> str:
    """`3h 5m ago`: the two largest units, which is what an operator compares to a window."""
    if moment is None:
        return "never"
    seconds = max(0, int(((now or datetime.now(UTC)) - moment).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    return " ".join(f"{n}{unit}" for n, unit in parts[:2]) + " ago"


def in_flight(row: EntityStatus) -> str:
    """`12 of ~37 pages (32%)` for an unfinished scan; the page count alone before any scan
    completed (no total to size it by); `-` when none is in flight."""
    if row.scan_next_page is None:
        return "-"
    done = row.scan_next_page - 1
    share = page_share(row.scan_next_page, total=row.scan_total)
    if share is None or row.scan_total is None:
        return f"{done} pages read"
    return f"{done} of ~{pages_of(row.scan_total)} pages ({int(share * 100)}%)"
