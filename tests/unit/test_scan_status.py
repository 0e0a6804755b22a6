"""The reconcile scan's cells of `pelcro-sync status`: ages and the share of a scan in flight."""

from datetime import UTC, datetime, timedelta

import pytest

from pelcro_sync.cli.scan_status import age, in_flight
from pelcro_sync.warehouse.status import EntityStatus

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ago", "shown"),
    [
        (None, "never"),
        (timedelta(0), "0s ago"),
        (timedelta(seconds=45), "45s ago"),
        (timedelta(minutes=12, seconds=3), "12m 3s ago"),
        (timedelta(hours=3, minutes=5, seconds=59), "3h 5m ago"),
        (timedelta(hours=3), "3h 0m ago"),
        (timedelta(days=2, hours=4, minutes=1), "2d 4h ago"),
        (timedelta(seconds=-5), "0s ago"),  # another host's clock a little ahead
    ],
    ids=["never", "now", "seconds", "minutes", "hours", "whole-hours", "days", "future"],
)
def test_age_shows_the_two_largest_units(ago: timedelta | None, shown: str) -> None:
    assert age(None if ago is None else NOW - ago, now=NOW) == shown


@pytest.mark.parametrize(
    ("next_page", "total", "shown"),
    [
        (None, 3000, "-"),
        (13, 3700, "12 of ~37 pages (32%)"),
        (13, None, "12 pages read"),  # no complete scan yet to size it by
        (40, 3700, "39 of ~37 pages (99%)"),  # the API grew since: never shown as done
        (1, 50, "0 of ~1 pages (0%)"),
    ],
    ids=["none", "sized", "first-scan", "grown", "empty-start"],
)
def test_in_flight_shows_pages_and_share(next_page: int | None, total: int | None, shown: str):
    row = EntityStatus(site_id=1, entity="customers", scan_next_page=next_page, scan_total=total)
    assert in_flight(row) == shown
