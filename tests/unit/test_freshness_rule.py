"""The freshness rule: a successful run counts for entities the fast path covers; for the
others only a complete scan does, so a time-limited run that stopped cannot hide it."""

from datetime import UTC, datetime, timedelta

import pytest

from dagster_project.defs.freshness import scan_ages, stale_sites
from pelcro_sync.entities import get_entity
from pelcro_sync.warehouse.state import SyncState

NOW = datetime(2030, 1, 2, 12, tzinfo=UTC)
SCAN, FAST = timedelta(hours=26), timedelta(hours=1)


def _state(*, complete_h: float | None, success_h: float | None, next_page: int | None = None):
    def ago(hours: float | None) -> datetime | None:
        return None if hours is None else NOW - timedelta(hours=hours)

    return SyncState(site_id=7, entity="x", last_complete_scan_at=ago(complete_h),
                     last_complete_scan_total=500, scan_started_at=None, scan_run_id=None,
                     scan_next_page=next_page, scan_sort=None, max_id_seen=None,
                     last_success_at=ago(success_h), updated_at=NOW)  # fmt: skip


@pytest.mark.parametrize(
    ("entity", "limit", "state", "why"),
    [
        ("subscriptions", SCAN, _state(complete_h=30, success_h=0.1, next_page=4),
         "last complete scan 30.0 h ago; a scan in flight resumes at page 4"),
        ("subscriptions", SCAN, _state(complete_h=2, success_h=0.1, next_page=4), None),
        ("subscriptions", SCAN, _state(complete_h=None, success_h=None, next_page=3),
         "no last complete scan yet; a scan in flight resumes at page 3"),
        ("sources", SCAN, _state(complete_h=None, success_h=1), None),  # 404 on this account
        ("customers", FAST, _state(complete_h=30, success_h=0.5), None),
        ("customers", FAST, _state(complete_h=0.1, success_h=2), "last successful run 2.0 h ago"),
    ],
    ids=["stopped-run-hides-nothing", "scanned-recently", "first-scan-unfinished",
         "unavailable", "fast-path-recent-run", "fast-path-stale"],
)  # fmt: skip
def test_which_sites_are_stale_and_why(
    entity: str, limit: timedelta, state: SyncState, why: str | None
) -> None:
    found = stale_sites({7: state}, entity=get_entity(entity), older_than=limit, now=NOW)
    assert found == ({} if why is None else {7: why})


def test_scan_ages_are_hours_per_site() -> None:
    states = {7: _state(complete_h=30, success_h=1), 3: _state(complete_h=None, success_h=None)}
    assert scan_ages(states, now=NOW) == {"3": None, "7": 30.0}
