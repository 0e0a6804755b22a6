"""`pelcro-sync plan`: the request budget of this account, as a table or as JSON."""

import json

from rich.console import Console
from rich.table import Table

from pelcro_sync.api.client import PelcroClient
from pelcro_sync.config import Settings
from pelcro_sync.entities import ENTITIES
from pelcro_sync.pipeline import plan_probe
from pelcro_sync.pipeline.plan import (
    PACING,
    Plan,
    format_duration,
    runs_per_day,
    schedules_of,
)


def run(settings: Settings, *, as_json: bool, console: Console) -> Plan:
    """Measure the account and print the plan."""
    settings.require_credential()
    schedules = schedules_of(settings)
    with PelcroClient(settings) as client:
        plan = plan_probe.measure(
            client, entities=ENTITIES, requested_sites=settings.site_ids, schedules=schedules
        )
    if as_json:
        # Plain text, not rich's: a program reads it.
        console.file.write(json.dumps(plan.to_json(), indent=2) + "\n")
    else:
        console.print(entity_table(plan))
        for line in summary_lines(plan):
            console.print(line, soft_wrap=True, highlight=False)
    return plan


def entity_table(plan: Plan) -> Table:
    table = Table(title="pelcro-sync plan: requests per entity and site", title_justify="left")
    for col in ("entity", "site", "records", "pages", "full reconcile", "fast run", "minutes"):
        table.add_column(col, justify="left" if col == "entity" else "right")
    for e in sorted(plan.entities, key=lambda e: (e.site_id, e.entity)):
        records = "not available" if e.records is None else f"{e.records:,}"
        table.add_row(
            e.entity,
            str(e.site_id),
            records,
            f"{e.pages:,}",
            f"{e.requests:,}",
            f"{e.fast_requests:,}",
            f"{e.minutes:.2f}",
        )
    return table


def summary_lines(plan: Plan) -> list[str]:
    s, rate = plan.schedules, plan.rate_limit_per_minute
    fast_runs, nightly = runs_per_day(s.fast_cron), runs_per_day(s.reconcile_cron)
    confirm = sum(e.confirm_gets_max for e in plan.entities)
    window = format_duration(s.window)
    lines = [
        f"rate limit: {rate} requests/minute (the client paces at {PACING:.0%} of it)",
        f"full reconcile: {plan.full_reconcile_requests:,} requests (pages of 100, and "
        f"GET /account), {plan.full_reconcile_minutes:,.1f} minutes",
        f"  + delete confirmation GETs: none when nothing was deleted since the last scan, "
        f"at most {confirm:,} (200 per entity and site that has a GET by id)",
        f"fast-path run: {plan.fast_run_requests:,} requests (one page newest first per "
        f"entity that can be listed so; the others wait for the reconcile)",
        f"schedules: fast path `{s.fast_cron}` ({fast_runs} runs/day, PELCRO_FAST_CRON), "
        f"reconcile `{s.reconcile_cron}` ({nightly}/day, PELCRO_RECONCILE_CRON)",
        f"per day: {plan.daily_requests:,} requests, {plan.daily_share:.1%} of the "
        f"account's {rate * 1440:,} requests a day",
    ]
    if plan.fits_window:
        lines.append(f"the full reconcile fits its window of {window} (PELCRO_RECONCILE_WINDOW)")
    else:
        lines.append(
            f"warning: a full reconcile ({plan.full_reconcile_minutes:,.0f} minutes) cannot "
            f"finish inside its window of {window} (PELCRO_RECONCILE_WINDOW)"
        )
        if plan.proposal is not None:
            lines.append(f"  proposal: {plan.proposal.text}")
    lines += [f"{name}: not available on this account" for name in plan.unavailable]
    if (sp := plan.status_pass) is not None:
        lines.append(
            f"subscriptions: a pass over live statuses only ({','.join(sp.statuses)}; "
            f"{sp.live_share:.0%} live on site {sp.estimated_from_site}) reads "
            f"{sp.requests:,} requests instead of {sp.full_requests:,} "
            f"({sp.saving:.0%} fewer) to refresh the subscriptions that can still change"
        )
    n_entities = len({e.entity for e in plan.entities})
    sites = len({e.site_id for e in plan.entities})
    lines.append(
        f"this plan used {plan.probe_requests} requests (at most 2 + {n_entities} entities "
        f"× {sites} sites = {plan.probe_budget})"
    )
    return lines
