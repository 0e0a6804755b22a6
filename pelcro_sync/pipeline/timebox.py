"""Rolling, time-boxed reconcile: the deadline, whose turn comes first, and how far each got.

`sync --full --time-limit 90m` (and the nightly Dagster reconcile, whose limit is
PELCRO_RECONCILE_WINDOW) stops sending requests when the time is up: each scan keeps the
pages already read, commits them with its checkpoint, and the next run resumes there
(`pelcro_sync.pipeline.scan`). Entities take turns: scans left unfinished go first, then
those whose last complete scan is oldest, so over ⌈reconcile cost / window⌉ runs each one
is scanned completely.
"""

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from pelcro_sync.api.pagination import PAGE_SIZE
from pelcro_sync.entities import ENTITIES, Entity
from pelcro_sync.parsers import format_duration
from pelcro_sync.pipeline.result import EntityResult
from pelcro_sync.warehouse import state
from pelcro_sync.warehouse.state import SyncState
from pelcro_sync.warehouse.warehouse import Warehouse

_ORDER = {e.name: i for i, e in enumerate(ENTITIES)}
_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Deadline:
    """When a run must stop sending requests (monotonic clock), and the limit it came from."""

    limit: timedelta
    ends: float

    @classmethod
    def after(cls, limit: timedelta, *, started: float | None = None) -> "Deadline":
        """`limit` from now, or from `started` (a wall-clock epoch: a Dagster run's start,
        which its steps share however late each one begins)."""
        elapsed = 0.0 if started is None else max(0.0, time.time() - started)
        return cls(limit=limit, ends=time.monotonic() + limit.total_seconds() - elapsed)

    def expired(self) -> bool:
        return time.monotonic() >= self.ends


class _Task(Protocol):
    @property
    def entity(self) -> Entity: ...
    @property
    def site_id(self) -> int: ...


T = TypeVar("T", bound=_Task)


def fair_order(tasks: Sequence[T], states: Mapping[tuple[int, str], SyncState]) -> list[T]:
    """Unfinished scans first (they finish sooner, and their deletes wait on it), then
    never scanned, then by the age of the last complete scan, oldest first."""

    def turn(task: T) -> tuple[int, datetime, int]:
        found = states.get((task.site_id, task.entity.name))
        in_flight = found is not None and found.scan_next_page is not None
        last = found.last_complete_scan_at if found else None
        return (0 if in_flight else 1, last or _NEVER, _ORDER.get(task.entity.name, 0))

    return sorted(tasks, key=turn)


def not_started(task: _Task, *, warehouse: Warehouse) -> EntityResult:
    """The result of a task whose turn came after the time limit: nothing ran."""
    with warehouse.connect() as conn:
        found = state.get_state(conn, warehouse=warehouse, site_id=task.site_id, entity=task.entity)
    result = EntityResult(task.entity.name, task.site_id, mode="full", status="deferred")
    result.note = "not started: the time limit came first"
    if found is not None and found.scan_next_page:
        result.stopped_at_page = found.scan_next_page
        result.api_total = found.last_complete_scan_total
    return result


def scanned_share(result: EntityResult) -> float | None:
    """Share of the entity's pages a stopped scan has read, by the latest `meta.total`."""
    if result.stopped_at_page is None:
        return None
    return page_share(result.stopped_at_page, total=result.api_total)


def page_share(next_page: int, *, total: int | None) -> float | None:
    """Share of `total` records' pages read by a scan that resumes at `next_page`; below 1,
    since an unfinished scan has not seen its last page (None: no total known)."""
    if total is None:
        return None
    return min(0.99, (next_page - 1) / pages_of(total))


def pages_of(total: int) -> int:
    """Pages a scan of `total` records reads (at least one)."""
    return max(1, math.ceil(total / PAGE_SIZE))


def progress_line(result: EntityResult) -> str | None:
    """ "customers (site 1): 63% scanned, resumes next run", for a scan left unfinished."""
    if result.stopped_at_page is None and result.status != "deferred":
        return None
    where = f"{result.entity} (site {result.site_id})"
    share = scanned_share(result)
    if result.stopped_at_page is None or result.stopped_at_page <= 1:
        done = "not started"
    elif share is None:
        done = f"{result.stopped_at_page - 1} pages scanned"
    else:
        done = f"{math.floor(share * 100)}% scanned"
    return f"{where}: {done}, resumes next run"


def report(results: Sequence[EntityResult], deadline: Deadline | None) -> list[str]:
    """The lines a time-boxed run ends with: nothing when every scan finished."""
    left = [line for r in results if (line := progress_line(r))]
    if deadline is None or not left:
        return []
    head = (
        f"time limit {format_duration(deadline.limit)} reached: stopped cleanly after the "
        f"pages in flight; {len(left)} of {len(results)} resume next run"
    )
    return [head, *(f"  {line}" for line in left)]
