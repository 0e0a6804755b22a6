"""One entity of one site, in one of two modes, returning counts.

- "full" (reconcile): read every page in `scan_sort` order and upsert (`pelcro_sync.scan`:
  a batch of pages per transaction, with its checkpoint, so a killed run resumes after
  the last committed page); a scan that reaches its end then detects deletes
  (`pelcro_sync.reconcile`).
- "fast": newest first until nothing new (`pelcro_sync.fastpath`), for entities that can be
  listed so; the others get a full scan when stale and are skipped otherwise.

Two runs of one site and entity never overlap (`pelcro_sync.locks`).
"""

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, Engine

from pelcro_sync import collector, fastpath, reconcile, scan
from pelcro_sync.client import PelcroClient
from pelcro_sync.drift import Drift
from pelcro_sync.entities import Entity, get_entity
from pelcro_sync.errors import PelcroSyncError
from pelcro_sync.locks import entity_lock
from pelcro_sync.normalize import NormalizedBatch
from pelcro_sync.pagination import Page
from pelcro_sync.reconcile import DeletePolicy
from pelcro_sync.warehouse import state
from pelcro_sync.warehouse.upsert import UpsertCounts

log = logging.getLogger(__name__)

Mode = Literal["fast", "full"]
# An entity the fast path cannot cover gets a full scan in a fast run once its last
# complete scan is older than this.
DEFAULT_STALE_AFTER = timedelta(hours=24)


@dataclass
class EntityResult:
    """What one sync of one entity on one site did; the CLI summary and Dagster metadata."""

    entity: str
    site_id: int
    mode: str
    run_id: str = ""
    status: str = "running"  # running, succeeded, failed; or skipped (no run recorded)
    pages: int = 0
    records_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    dropped: int = 0
    type_errors: Counter[str] = field(default_factory=Counter)
    api_total: int | None = None
    resumed_from_page: int | None = None
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    duration_s: float = 0.0
    error: str | None = None
    delete_candidates: int = 0
    confirm_gets: int = 0
    note: str | None = None
    drift: Drift = field(default_factory=Drift)  # fields new to / gone from the API

    @property
    def written(self) -> int:
        return self.inserted + self.updated + self.deleted

    def add_page(self, page: Page, batch: NormalizedBatch, counts: UpsertCounts) -> None:
        self.add_read(page)
        self.add_written(batch, counts)

    def add_read(self, page: Page) -> None:
        self.pages += 1
        self.records_read += len(page.records)
        self.drift.observe(get_entity(self.entity), page.records)
        self.api_total = page.total

    def add_written(self, batch: NormalizedBatch, counts: UpsertCounts) -> None:
        """One write: a key on several of its pages (shifted mid-scan) counts once."""
        self.inserted += counts.inserted
        self.updated += counts.updated
        self.unchanged += counts.unchanged
        self.dropped += batch.dropped
        self.type_errors.update(batch.type_errors)


# Called for every page, in order, from the syncing thread: (result so far, page). A fast
# run calls it once the page is committed. A full scan calls it as the page is read, and
# commits it with the pages around it (`pelcro_sync.batching`) within ~1 s; a scan that
# stops (an error, or the callback raising) first commits every page it has read, so a
# page the callback has seen is lost only if the warehouse itself fails.
ProgressCallback = Callable[[EntityResult, Page], None]


def sync_entity(
    client: PelcroClient,
    *,
    engine: Engine,
    entity: Entity,
    site_id: int,
    schema: str,
    full: bool = False,
    mode: Mode | None = None,
    on_page: ProgressCallback | None = None,
    delete_policy: DeletePolicy | None = None,
    lock_wait_s: float = 0.0,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
) -> EntityResult:
    """Sync `entity` on `site_id`: a reconcile scan ("full", the default, or `full=True`)
    or the fast path ("fast"; a full scan instead when the fast path cannot cover it).

    Raises:
        SyncInProgressError: another run of this site and entity holds the lock.
        DeleteSafetyError: the scan would mark too many rows deleted (run recorded failed).
        PelcroSyncError: whatever else stopped it, after recording the failed run.
    """
    requested: Mode = "full" if full else (mode or "full")
    with (
        collector.relaxed_during_sync(),
        entity_lock(engine, schema=schema, site_id=site_id, entity=entity.name, wait_s=lock_wait_s),
    ):
        with engine.connect() as conn:
            current = state.get_state(conn, schema=schema, site_id=site_id, entity=entity.name)
        chosen, note = choose_mode(entity, current, requested=requested, stale_after=stale_after)
        if chosen is None:
            return EntityResult(entity.name, site_id, mode="fast", status="skipped", note=note)
        result = EntityResult(entity=entity.name, site_id=site_id, mode=chosen, note=note)
        result.drift.remember(current.drift_baseline if current else None)
        policy = delete_policy or DeletePolicy.from_env()
        _run(client, engine=engine, entity=entity, schema=schema, result=result,
             on_page=on_page, policy=policy)  # fmt: skip
        return result


def choose_mode(
    entity: Entity, current: state.SyncState | None, *, requested: Mode, stale_after: timedelta
) -> tuple[Mode | None, str | None]:
    """The mode to run (None: skip) and why, when it is not the one requested."""
    if requested == "full":
        return "full", None
    scanned_at = current.last_complete_scan_at if current else None
    if scanned_at is None:
        return "full", "no complete scan yet: full scan first"
    if entity.newest_first is not None:
        return "fast", None
    if current is not None and current.scan_next_page:
        return "full", "not covered by the fast path: resuming its unfinished scan"
    age = datetime.now(UTC) - scanned_at
    if age > stale_after:
        return "full", f"not covered by the fast path: last complete scan {_hours(age)} ago"
    return None, f"not covered by the fast path; last complete scan {_hours(age)} ago"


def _hours(age: timedelta) -> str:
    return f"{age.total_seconds() / 3600:.1f} h"


def _run(
    client: PelcroClient,
    *,
    engine: Engine,
    entity: Entity,
    schema: str,
    result: EntityResult,
    on_page: ProgressCallback | None,
    policy: DeletePolicy,
) -> None:
    started = time.monotonic()
    stats_before = client.stats.snapshot()
    site_id = result.site_id
    with engine.begin() as conn:
        state.fail_stale_runs(conn, schema=schema, site_id=site_id, entity=entity.name)
        result.run_id = state.start_run(
            conn, schema=schema, site_id=site_id, entity=entity.name, mode=result.mode
        )

    def tally(page: Page, batch: NormalizedBatch, counts: UpsertCounts) -> None:
        result.add_page(page, batch, counts)
        if on_page is not None:
            on_page(result, page)

    try:
        if result.mode == "fast":
            fastpath.read_newest(client, engine=engine, entity=entity, site_id=site_id,
                                 schema=schema, tally=tally)  # fmt: skip
        else:
            _reconcile(client, engine=engine, entity=entity, schema=schema, result=result,
                       on_page=on_page, policy=policy)  # fmt: skip
        with engine.begin() as conn:
            state.remember_drift(
                conn, schema=schema, site_id=site_id, entity=entity.name,
                new=set(result.drift.new_fields), missing=set(result.drift.missing_fields),
            )  # fmt: skip
        result.status = "succeeded"
    except BaseException as exc:
        result.status = "failed"
        result.error = (
            str(exc) if isinstance(exc, PelcroSyncError) else f"{type(exc).__name__}: {exc}"
        )
        raise
    finally:
        _account(result, client=client, before=stats_before, started=started)
        _finish(engine, schema=schema, result=result)


def _reconcile(
    client: PelcroClient,
    *,
    engine: Engine,
    entity: Entity,
    schema: str,
    result: EntityResult,
    on_page: ProgressCallback | None,
    policy: DeletePolicy,
) -> None:
    """Scan every page (resuming an unfinished scan), then detect deletes."""
    site_id = result.site_id
    with engine.connect() as conn:
        start_page = _resume_page(conn, schema=schema, entity=entity, site_id=site_id)
    if start_page > 1:
        result.resumed_from_page = start_page
        log.info("%s site %s: resuming the unfinished scan at page %s",
                 entity.name, site_id, start_page)  # fmt: skip
    started = scan.full_scan(client, engine=engine, entity=entity, site_id=site_id,
                             schema=schema, start_page=start_page, result=result,
                             on_page=on_page)  # fmt: skip
    outcome = reconcile.detect_deletes(client, engine=engine, entity=entity, site_id=site_id,
                                       schema=schema, policy=policy, since=started)  # fmt: skip
    result.deleted += outcome.marked
    result.delete_candidates = outcome.candidates
    result.confirm_gets = outcome.confirm_gets


def _resume_page(conn: Connection, *, schema: str, entity: Entity, site_id: int) -> int:
    """The page after the last committed one of an unfinished scan in the same order, else 1."""
    current = state.get_state(conn, schema=schema, site_id=site_id, entity=entity.name)
    if current is None or not current.scan_next_page:
        return 1
    if current.scan_sort != (entity.scan_sort or ""):
        return 1  # a scan in another order cannot be continued by page number
    return current.scan_next_page


def _account(
    result: EntityResult, *, client: PelcroClient, before: dict[str, Any], started: float
) -> None:
    """This sync's share of the client's counters (a client may have served other calls)."""
    after = client.stats.snapshot()
    result.requests = after["requests"] - before["requests"]
    result.retries = after["retries"] - before["retries"]
    result.throttled = after["throttled"] - before["throttled"]
    result.duration_s = time.monotonic() - started


def _finish(engine: Engine, *, schema: str, result: EntityResult) -> None:
    """Record the run's outcome; a warehouse that is down must not hide the original error."""
    try:
        with engine.begin() as conn:
            state.finish_run(conn, schema=schema, result=result)
    except Exception as exc:
        log.warning("could not record the run's outcome: %s", type(exc).__name__)
