"""The plan's arithmetic: pages, requests, minutes, the window, the proposal, the crons."""

import math
from datetime import timedelta

import pytest

from pelcro_sync.config import Settings
from pelcro_sync.errors import ConfigError
from pelcro_sync.pipeline.plan import (
    PACING,
    Count,
    Schedules,
    build,
    live_subscriptions,
    pages_for,
    runs_per_day,
    schedules_of,
)


@pytest.mark.parametrize(
    ("records", "pages"), [(0, 1), (1, 1), (100, 1), (101, 2), (10_000, 100), (10_001, 101)]
)
def test_a_scan_reads_one_page_per_hundred_records_and_at_least_one(records, pages):
    assert pages_for(records) == pages


@pytest.mark.parametrize(
    ("cron", "runs"),
    [("*/15 * * * *", 96), ("0 3 * * *", 1), ("0 */6 * * *", 4), ("5,35 1-2 * * *", 4),
     ("*/20 8-17/3 * * 1-5", 12), ("* * * * *", 1440)],
    ids=["15-min", "nightly", "6-h", "lists-and-ranges", "ranged-steps", "every-minute"],
)  # fmt: skip
def test_runs_per_day_counts_the_minute_and_hour_fields(cron, runs):
    assert runs_per_day(cron) == runs


@pytest.mark.parametrize("cron", ["*/15 * * *", "61 * * * *", "*/0 * * * *"])
def test_a_malformed_cron_is_refused(cron):
    with pytest.raises(ValueError):
        runs_per_day(cron)


def test_the_schedules_come_from_the_settings():
    settings = Settings(fast_cron="*/5 * * * *", reconcile_window=timedelta(hours=2))
    s = schedules_of(settings)
    assert (s.fast_cron, s.reconcile_cron, s.window) == (
        "*/5 * * * *", "0 3 * * *", timedelta(hours=2),
    )  # fmt: skip


def test_a_cron_the_plan_cannot_count_is_one_line_naming_the_variable():
    with pytest.raises(ConfigError, match=r"^PELCRO_FAST_CRON: "):
        schedules_of(Settings(fast_cron="61 * * * *"))


def counts(customers: int) -> list[Count]:
    return [
        Count("customers", 1, customers, newest_first=True),
        Count("subscriptions", 1, customers * 8 // 10),
        Count("invoices", 1, customers * 2, newest_first=True),
        Count("sources", 1, None),  # the account does not offer the list
    ]


def test_a_small_account_fits_and_its_totals_add_up():
    plan = build(counts(10_000), rate=120, schedules=Schedules())
    # pages: 100 + 80 + 200, one refused sources request, one GET /account
    assert plan.full_reconcile_requests == 100 + 80 + 200 + 1 + 1
    assert plan.full_reconcile_minutes == round(382 / (120 * PACING), 1)
    assert plan.fits_window and plan.proposal is None
    # fast path: customers and invoices one page each, the sources probe, GET /account
    assert plan.fast_run_requests == 4
    assert plan.daily_requests == 4 * 96 + 382
    assert plan.daily_share == round((4 * 96 + 382) / (120 * 1440), 4)
    assert plan.unavailable == ["sources"]
    body = plan.to_json()
    assert {"rate_limit_per_minute", "full_reconcile_requests", "full_reconcile_minutes",
            "fits_window", "entities"} <= set(body)  # fmt: skip
    assert {"entity", "site_id", "records", "requests"} <= set(body["entities"][0])


def test_a_reconcile_beyond_the_window_gets_nightly_slices_when_a_day_cannot_hold_it():
    big = counts(2_000_000)  # 7.6M rows: ~76,000 requests, ~11 h at 120/min
    plan = build(big, rate=120, schedules=Schedules(window=timedelta(hours=6)))
    assert not plan.fits_window and plan.proposal is not None
    capacity = math.floor(120 * PACING * 360 - plan.fast_run_requests * 96 * 360 / 1440)
    assert plan.proposal.slices == math.ceil(plan.full_reconcile_requests / capacity) == 2
    assert plan.proposal.slice_requests <= capacity
    # a whole lap fits the day's spare budget: slices through the day, a lap a day
    assert plan.proposal.every_hours == 12 and plan.proposal.lap_days == 1
    assert "--time-limit 6h" in plan.proposal.text
    # the reconcile uses one window a night, not more
    assert plan.daily_requests == plan.fast_run_requests * 96 + capacity


def test_an_account_beyond_a_day_of_budget_takes_several_nights_per_lap():
    plan = build(counts(10_000_000), rate=120, schedules=Schedules(window=timedelta(hours=6)))
    assert plan.proposal is not None and plan.proposal.lap_days == plan.proposal.slices > 2
    assert "every" in plan.proposal.text and "nights" in plan.proposal.text


def test_the_live_subscriptions_pass_applies_one_sites_share_to_every_site():
    sp = live_subscriptions(site_id=4, total=1_000, live=250, totals=[1_000, 4_000])
    assert sp.live_share == 0.25
    assert sp.requests == pages_for(250) + pages_for(1_000) == 3 + 10
    assert sp.full_requests == 10 + 40
    assert sp.saving == pytest.approx(1 - 13 / 50)
