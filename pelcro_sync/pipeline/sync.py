"""One entity of one site, in one of two modes, returning counts.

- "full" (reconcile): read every page in `scan_sort` order and upsert (`pelcro_sync.pipeline.scan`:
  a batch of pages per transaction, with its checkpoint, so a killed run resumes after
  the last committed page); a scan that reaches its end then detects deletes
  (`pelcro_sync.pipeline.reconcile`).
- "fast": newest first until nothing new (`pelcro_sync.pipeline.fastpath`), for entities that can be
  listed so; the others get a full scan when stale and are skipped otherwise.

Two runs of one site and entity never overlap (`pelcro_sync.warehouse.locks`).
"""

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pelcro_sync import collector
from pelcro_sync.api.client import EndpointUnavailableError, PelcroClient
from pelcro_sync.api.pagination import Page
from pelcro_sync.entities import Entity
from pelcro_sync.errors import PelcroSyncError
from pelcro_sync.pipeline import fastpath, reconcile, scan
from pelcro_sync.pipeline.reconcile import DeletePolicy
from pelcro_sync.pipeline.result import EntityResult, ProgressCallback
from pelcro_sync.pipeline.timebox import Deadline
from pelcro_sync.transform.normalize import NormalizedBatch
from pelcro_sync.warehouse import state
from pelcro_sync.warehouse.locks import entity_lock
from pelcro_sync.warehouse.upsert import UpsertCounts
from pelcro_sync.warehouse.warehouse import Warehouse

log = logging.getLogger(__name__)

Mode = Literal["fast", "full"]
# An entity the fast path cannot cover gets a full scan in a fast run once its last
# complete scan is older than this.
DEFAULT_STALE_AFTER = timedelta(hours=24)


def sync_entity(
    client: PelcroClient,
    *,
    warehouse: Warehouse,
    entity: Entity,
    site_id: int,
    mode: Mode = "full",
    on_page: ProgressCallback | None = None,
    delete_policy: DeletePolicy | None = None,
    lock_wait_s: float = 0.0,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    deadline: Deadline | None = None,
) -> EntityResult:
    """Sync `entity` on `site_id`: a reconcile scan ("full", the default)
    or the fast path ("fast"; a full scan instead when the fast path cannot cover it).
    `deadline`: a full scan stops sending requests then, keeps what it read and resumes
    next run (`pelcro_sync.pipeline.timebox`).

    Raises:
        SyncInProgressError: another run of this site and entity holds the lock.
        DeleteSafetyError: the scan would mark too many rows deleted (run recorded failed).
        PelcroSyncError: whatever else stopped it, after recording the failed run.
    """
    with (
        collector.relaxed_during_sync(),
        entity_lock(warehouse, site_id=site_id, entity=entity, wait_s=lock_wait_s),
    ):
        # The one read of the state row: runs of one site and entity never overlap (the
        # lock), so what it says holds for the whole run and is handed down from here.
        with warehouse.connect() as conn:
            current = state.get_state(conn, warehouse=warehouse, site_id=site_id, entity=entity)
        chosen, note = choose_mode(entity, current, requested=mode, stale_after=stale_after)
        if chosen is None:
            return EntityResult(entity.name, site_id, mode="fast", status="skipped", note=note)
        result = EntityResult(entity=entity.name, site_id=site_id, mode=chosen, note=note)
        result.drift.remember(current.drift_baseline if current else None)
        policy = delete_policy or DeletePolicy.from_env()
        run = _Run(
            client,
            warehouse=warehouse,
            entity=entity,
            current=current,
            policy=policy,
            deadline=deadline,
        )
        run.execute(result, on_page=on_page)
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


@dataclass(frozen=True)
class _Run:
    """One run's fixed inputs: the client, the warehouse, the entity, and the state row as
    read at its start (None before the first checkpoint)."""

    client: PelcroClient
    warehouse: Warehouse
    entity: Entity
    current: state.SyncState | None
    policy: DeletePolicy
    deadline: Deadline | None = None

    def execute(self, result: EntityResult, *, on_page: ProgressCallback | None) -> None:
        """Record the run, sync in its mode, remember the drift seen, record the outcome."""
        started = time.monotonic()
        stats_before = self.client.stats.snapshot()
        wh, entity, site_id = self.warehouse, self.entity, result.site_id
        with wh.begin() as conn:
            state.fail_stale_runs(conn, warehouse=wh, site_id=site_id, entity=entity)
            result.run_id = state.start_run(
                conn, warehouse=wh, site_id=site_id, entity=entity, mode=result.mode
            )

        def tally(page: Page, batch: NormalizedBatch, counts: UpsertCounts) -> None:
            result.add_page(page, batch, counts)
            if on_page is not None:
                on_page(result, page)

        try:
            if result.mode == "fast":
                fastpath.read_newest(
                    self.client, warehouse=wh, entity=entity, site_id=site_id, tally=tally
                )
            else:
                self._reconcile(result, on_page=on_page)
            with wh.begin() as conn:
                state.remember_drift(
                    conn,
                    warehouse=wh,
                    site_id=site_id,
                    entity=entity,
                    known=self.current.drift_baseline if self.current else None,
                    new=set(result.drift.new_fields),
                    missing=set(result.drift.missing_fields),
                )
            result.status = "succeeded"
        except EndpointUnavailableError as exc:
            # Not a failure, and nothing is tombstoned: the scan never began.
            result.status, result.note = "unavailable", str(exc)
        except BaseException as exc:
            result.status = "failed"
            result.error = (
                str(exc) if isinstance(exc, PelcroSyncError) else f"{type(exc).__name__}: {exc}"
            )
            raise
        finally:
            _account(result, client=self.client, before=stats_before, started=started)
            _finish(wh, result=result)

    def _reconcile(self, result: EntityResult, *, on_page: ProgressCallback | None) -> None:
        """Scan every page (resuming an unfinished scan), then detect deletes."""
        entity, site_id = self.entity, result.site_id
        start_page = resume_page(entity, self.current)
        if start_page > 1:
            result.resumed_from_page = start_page
            log.info(
                "%s site %s: resuming the unfinished scan at page %s",
                entity.name,
                site_id,
                start_page,
            )
        if self.deadline is not None:
            self.client.stop_sending = self.deadline.expired
        started = scan.full_scan(
            self.client,
            warehouse=self.warehouse,
            entity=entity,
            site_id=site_id,
            start_page=start_page,
            result=result,
            on_page=on_page,
            started_at=self.current.scan_started_at if self.current else None,
        )
        if result.stopped_at_page is not None:
            # Left set: page fetches still waiting for a slot must not go out either.
            log.info(
                "%s site %s: time limit, resumes at page %s",
                entity.name,
                site_id,
                result.stopped_at_page,
            )
            return
        # A complete scan confirms its deletes now, whatever the clock: a bounded cost
        # (DeletePolicy.max_confirm_gets), and the candidates are only valid now.
        self.client.stop_sending = None
        outcome = reconcile.detect_deletes(
            self.client,
            warehouse=self.warehouse,
            entity=entity,
            site_id=site_id,
            policy=self.policy,
            since=started,
        )
        result.deleted += outcome.marked
        result.delete_candidates = outcome.candidates
        result.confirm_gets = outcome.confirm_gets
        result.delete_check, result.delete_fallback = outcome.check, outcome.fallback


def resume_page(entity: Entity, current: state.SyncState | None) -> int:
    """The page after the last committed one of an unfinished scan in the same order, else 1."""
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


def _finish(warehouse: Warehouse, *, result: EntityResult) -> None:
    """Record the run's outcome; a warehouse that is down must not hide the original error."""
    # An endpoint the account does not offer is recorded as a run that read nothing.
    status = "succeeded" if result.status == "unavailable" else None
    try:
        with warehouse.begin() as conn:
            state.finish_run(conn, warehouse=warehouse, result=result, status=status)
    except Exception as exc:
        log.warning("could not record the run's outcome: %s", type(exc).__name__)
