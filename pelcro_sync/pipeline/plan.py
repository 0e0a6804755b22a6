"""The request budget: what a full reconcile and a fast-path run cost, and whether it fits.

The arithmetic (`build`, `propose`, `runs_per_day`) is pure; `measure`
alone talks to the API: page 1 with `limit=1` per entity and site to read `meta.total`,
plus one status-filtered subscriptions count. With `GET /account` that is at most
2 + entities × sites requests.
"""

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from pelcro_sync.api import filters
from pelcro_sync.api.pagination import PAGE_SIZE
from pelcro_sync.api.ratelimit import DEFAULT_MARGIN
from pelcro_sync.config import (
    DEFAULT_FAST_CRON,
    DEFAULT_RECONCILE_CRON,
    DEFAULT_RECONCILE_WINDOW,
    Settings,
)
from pelcro_sync.errors import ConfigError
from pelcro_sync.parsers import format_duration
from pelcro_sync.pipeline.reconcile import DEFAULT_MAX_CONFIRM_GETS, NO_GET_BY_ID

PACING = 1.0 - DEFAULT_MARGIN  # the client paces at this share of the limit: no 429s
ACCOUNT_REQUESTS = 1  # GET /account, once a run, for the sites and the limit


@dataclass(frozen=True)
class Count:
    """`meta.total` of one entity on one site; None when the account does not offer it."""

    entity: str
    site_id: int
    records: int | None
    newest_first: bool = False


@dataclass(frozen=True)
class Schedules:
    fast_cron: str = DEFAULT_FAST_CRON
    reconcile_cron: str = DEFAULT_RECONCILE_CRON
    window: timedelta = DEFAULT_RECONCILE_WINDOW


@dataclass(frozen=True)
class EntityPlan:
    entity: str
    site_id: int
    records: int | None
    pages: int
    requests: int  # a full reconcile: every page (an unavailable list: the one refused)
    fast_requests: int  # one steady fast-path run (fewer than PAGE_SIZE new records)
    minutes: float
    confirm_gets_max: int  # GETs spent confirming deletes, at most (0 with nothing deleted)


@dataclass(frozen=True)
class Proposal:
    """A rolling reconcile that fits: slices of the window, how often, how long a lap takes."""

    slices: int
    slice_requests: int
    slice_records: int
    every_hours: float
    lap_days: float
    text: str


@dataclass(frozen=True)
class StatusPass:
    """A freshness pass over live subscriptions only (the documented status filter)."""

    statuses: tuple[str, ...]
    estimated_from_site: int
    live_share: float
    requests: int
    full_requests: int

    @property
    def saving(self) -> float:
        return 1 - self.requests / self.full_requests if self.full_requests else 0.0


@dataclass(frozen=True)
class Plan:
    rate_limit_per_minute: int
    schedules: Schedules
    entities: list[EntityPlan]
    full_reconcile_requests: int
    full_reconcile_minutes: float
    fits_window: bool
    fast_run_requests: int
    daily_requests: int
    daily_share: float
    proposal: Proposal | None
    status_pass: StatusPass | None = None
    probe_requests: int = 0
    probe_budget: int = 0
    unavailable: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["schedules"] = {
            "fast_cron": self.schedules.fast_cron,
            "fast_runs_per_day": runs_per_day(self.schedules.fast_cron),
            "reconcile_cron": self.schedules.reconcile_cron,
            "reconcile_runs_per_day": runs_per_day(self.schedules.reconcile_cron),
            "reconcile_window_minutes": self.schedules.window.total_seconds() / 60,
        }
        out["full_reconcile_requests_max"] = self.full_reconcile_requests + sum(
            e.confirm_gets_max for e in self.entities
        )
        if self.status_pass is not None:
            out["status_pass"]["saving"] = round(self.status_pass.saving, 4)
        return out


# -- arithmetic ----------------------------------------------------------------------------


def pages_for(records: int) -> int:
    """Pages a scan reads: an empty list still costs its one (empty) page."""
    return max(1, math.ceil(records / PAGE_SIZE))


def minutes_for(requests: int, rate: int) -> float:
    return requests / (rate * PACING)


def entity_plan(count: Count, *, rate: int) -> EntityPlan:
    if count.records is None:  # asked once per run, refused, skipped
        return EntityPlan(count.entity, count.site_id, None, 0, 1, 1, minutes_for(1, rate), 0)
    pages = pages_for(count.records)
    confirm = 0 if count.entity in NO_GET_BY_ID else min(count.records, DEFAULT_MAX_CONFIRM_GETS)
    # The fast path reads one page newest first where it can; the others are skipped
    # while the nightly reconcile keeps their last complete scan under a day old.
    fast = 1 if count.newest_first else 0
    return EntityPlan(
        count.entity,
        count.site_id,
        count.records,
        pages,
        pages,
        fast,
        minutes_for(pages, rate),
        confirm,
    )


def build(
    counts: Sequence[Count],
    *,
    rate: int,
    schedules: Schedules,
    status_pass: StatusPass | None = None,
    probe_requests: int = 0,
    probe_budget: int = 0,
) -> Plan:
    """The plan for these counts at `rate` requests a minute under `schedules`."""
    plans = [entity_plan(c, rate=rate) for c in counts]
    full = ACCOUNT_REQUESTS + sum(p.requests for p in plans)
    fast = ACCOUNT_REQUESTS + sum(p.fast_requests for p in plans)
    window_min = schedules.window.total_seconds() / 60
    fast_per_day = runs_per_day(schedules.fast_cron)
    # The fast path keeps running while the reconcile does: its share of the window is
    # not the reconcile's.
    fast_in_window = fast * fast_per_day * window_min / 1440
    capacity = max(1, math.floor(rate * PACING * window_min - fast_in_window))
    fits = full <= capacity
    reconciles = runs_per_day(schedules.reconcile_cron) * min(full, capacity)
    daily = fast * fast_per_day + reconciles
    proposal = None
    if not fits:
        spare = rate * PACING * 1440 - fast * fast_per_day
        proposal = propose(full, capacity=capacity, spare_per_day=spare, window=schedules.window)
    return Plan(
        rate_limit_per_minute=rate,
        schedules=schedules,
        entities=plans,
        full_reconcile_requests=full,
        full_reconcile_minutes=round(minutes_for(full, rate), 1),
        fits_window=fits,
        fast_run_requests=fast,
        daily_requests=math.ceil(daily),
        daily_share=round(daily / (rate * 1440), 4),
        proposal=proposal,
        status_pass=status_pass,
        probe_requests=probe_requests,
        probe_budget=probe_budget,
        unavailable=sorted({c.entity for c in counts if c.records is None}),
    )


def propose(full: int, *, capacity: int, spare_per_day: float, window: timedelta) -> Proposal:
    """Slices of at most `capacity` requests (one window's worth): several a day when the
    day's spare budget holds a whole lap, else one a night and a lap over several nights."""
    slices = math.ceil(full / capacity)
    per_slice = math.ceil(full / slices)
    limit = format_duration(window)
    if full <= spare_per_day:
        every = 24 / slices
        text = (
            f"run `pelcro-sync sync --full --time-limit {limit}` every {every:g} h "
            f"({slices} slices a day of about {per_slice:,} requests): a complete scan every day"
        )
        return Proposal(slices, per_slice, per_slice * PAGE_SIZE, every, 1.0, text)
    text = (
        f"run `pelcro-sync sync --full --time-limit {limit}` nightly: slices of about "
        f"{per_slice:,} requests, each entity completely scanned every {slices} nights"
    )
    return Proposal(slices, per_slice, per_slice * PAGE_SIZE, 24.0, float(slices), text)


def runs_per_day(cron: str) -> int:
    """Runs a day of a five-field cron whose day fields are `*` (the schedules' shape);
    a schedule restricted to some days counts its runs on a day it runs."""
    fields = cron.split()
    if len(fields) != 5:
        raise ValueError(f"a five-field cron expression, not {cron!r}")
    return len(_cron_values(fields[0], 60)) * len(_cron_values(fields[1], 24))


def _cron_values(spec: str, size: int) -> set[int]:
    out: set[int] = set()
    for part in spec.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            lo, hi = 0, size - 1
        elif "-" in base:
            lo, hi = (int(x) for x in base.split("-", 1))
        else:
            lo = int(base)
            hi = size - 1 if step_text else lo
        if not (0 <= lo <= hi < size) or step < 1:
            raise ValueError(f"cron field {spec!r} is out of range")
        out.update(range(lo, hi + 1, step))
    return out


# -- the schedules, from the settings -----------------------------------------------------


def schedules_of(settings: Settings) -> Schedules:
    """The crons Dagster schedules by and the reconcile window, as validated by config.py;
    a cron this module cannot count runs of is a one-line ConfigError."""
    schedules = Schedules(settings.fast_cron, settings.reconcile_cron, settings.reconcile_window)
    for name, cron in (
        ("PELCRO_FAST_CRON", schedules.fast_cron),
        ("PELCRO_RECONCILE_CRON", schedules.reconcile_cron),
    ):
        try:
            runs_per_day(cron)
        except ValueError as exc:
            raise ConfigError(f"{name}: {exc}") from None
    return schedules


# -- the subscriptions status pass --------------------------------------------------------


def live_subscriptions(*, site_id: int, total: int, live: int, totals: Sequence[int]) -> StatusPass:
    """A live-subscriptions pass over every site (`totals`: subscriptions per site), the
    live share counted on `site_id` applied to the others."""
    share = live / total if total else 0.0
    return StatusPass(
        statuses=filters.LIVE_SUBSCRIPTION_STATUSES,
        estimated_from_site=site_id,
        live_share=round(share, 4),
        requests=sum(pages_for(round(t * share)) for t in totals),
        full_requests=sum(pages_for(t) for t in totals),
    )
