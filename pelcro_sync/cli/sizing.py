"""The README's table of reconcile time by account size, computed by the plan's arithmetic.

Accounts are shaped like the sandbox's (`pelcro_sandbox.layout`: about 8.5 listed rows
per customer over 18 entities, catalogue entities capped), on one site, with the default
schedules. `python -m pelcro_sync.cli.sizing` prints the table.
"""

from pelcro_sandbox.layout import Layout
from pelcro_sync.entities import ENTITIES
from pelcro_sync.pipeline.plan import Count, Schedules, build

SIZES = (10_000, 100_000, 1_000_000)
RATES = (120, 600)


def counts(customers: int) -> list[Count]:
    layout = Layout(customers, [1])
    return [
        Count(e.name, 1, layout.sizes[e.name], newest_first=e.newest_first is not None)
        for e in ENTITIES
    ]


def _hours(minutes: float) -> str:
    return f"{minutes:,.0f} min" if minutes < 90 else f"{minutes / 60:,.1f} h"


def table() -> str:
    lines = [
        "| customers | listed rows | full reconcile requests | at 120/min | at 600/min "
        "| fits 6h at 120/min | proposal at 120/min |",
        "|---:|---:|---:|---:|---:|---|---|",
    ]
    for size in SIZES:
        rows = sum(c.records or 0 for c in counts(size))
        plans = [build(counts(size), rate=rate, schedules=Schedules()) for rate in RATES]
        slow = plans[0]
        proposal = "-" if slow.proposal is None else slow.proposal.text.split(": ", 1)[0]
        lines.append(
            f"| {size:,} | {rows:,} | {slow.full_reconcile_requests:,} | "
            f"{_hours(plans[0].full_reconcile_minutes)} | "
            f"{_hours(plans[1].full_reconcile_minutes)} | "
            f"{'yes' if slow.fits_window else 'no'} | {proposal} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
