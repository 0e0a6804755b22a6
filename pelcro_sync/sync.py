"""One entity of one site: fetch pages -> normalize -> upsert -> checkpoint, returning counts.

Each page commits in one transaction together with its checkpoint, so a run killed at any
point leaves the warehouse consistent and the next run resumes from the last committed page.
"""

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine

from pelcro_sync.client import PelcroClient
from pelcro_sync.entities import Entity
from pelcro_sync.errors import PelcroSyncError
from pelcro_sync.normalize import normalize
from pelcro_sync.pagination import Page
from pelcro_sync.warehouse import state
from pelcro_sync.warehouse.upsert import upsert_batch

log = logging.getLogger(__name__)


@dataclass
class EntityResult:
    """What one sync of one entity on one site did; the CLI summary and Dagster metadata."""

    entity: str
    site_id: int
    mode: str
    run_id: str = ""
    status: str = "running"
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

    @property
    def written(self) -> int:
        return self.inserted + self.updated + self.deleted


# Called after every committed page, from the syncing thread: (result so far, page).
ProgressCallback = Callable[[EntityResult, Page], None]


def sync_entity(
    client: PelcroClient,
    *,
    engine: Engine,
    entity: Entity,
    site_id: int,
    schema: str,
    full: bool = False,
    on_page: ProgressCallback | None = None,
) -> EntityResult:
    """Read every page of `entity` on `site_id` and upsert it; resume a scan left unfinished.

    Raises the underlying `PelcroSyncError` after recording the failed run.
    """
    result = EntityResult(entity=entity.name, site_id=site_id, mode="full" if full else "scan")
    started = time.monotonic()
    stats_before = client.stats.snapshot()
    with engine.begin() as conn:
        state.fail_stale_runs(conn, schema=schema, site_id=site_id, entity=entity.name)
        result.run_id = state.start_run(
            conn, schema=schema, site_id=site_id, entity=entity.name, mode=result.mode
        )
        start_page = _resume_page(conn, schema=schema, entity=entity, site_id=site_id)
    if start_page > 1:
        result.resumed_from_page = start_page
        log.info(
            "%s site %s: resuming the unfinished scan at page %s", entity.name, site_id, start_page
        )
    try:
        _scan(
            client,
            engine=engine,
            entity=entity,
            site_id=site_id,
            schema=schema,
            start_page=start_page,
            result=result,
            on_page=on_page,
        )
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
    return result


def _resume_page(conn: Connection, *, schema: str, entity: Entity, site_id: int) -> int:
    """The page after the last committed one of an unfinished scan in the same order, else 1."""
    current = state.get_state(conn, schema=schema, site_id=site_id, entity=entity.name)
    if current is None or not current.scan_next_page:
        return 1
    if current.scan_sort != (entity.scan_sort or ""):
        return 1  # a scan in another order cannot be continued by page number
    return current.scan_next_page


def _scan(
    client: PelcroClient,
    *,
    engine: Engine,
    entity: Entity,
    site_id: int,
    schema: str,
    start_page: int,
    result: EntityResult,
    on_page: ProgressCallback | None,
) -> None:
    last_page: Page | None = None
    max_id = 0
    for page in client.iter_pages(entity, site_id=site_id, start_page=start_page):
        batch = normalize(entity, page.records)
        if len(batch.frame):
            max_id = max(max_id, int(batch.frame["id"].max()))
        with engine.begin() as conn:
            counts = upsert_batch(conn, entity=entity, site_id=site_id, batch=batch, schema=schema)
            state.save_progress(
                conn,
                schema=schema,
                site_id=site_id,
                entity=entity.name,
                run_id=result.run_id,
                next_page=page.number + 1,
                sort=entity.scan_sort or "",
                max_id=max_id,
            )
        result.pages += 1
        result.records_read += len(page.records)
        result.inserted += counts.inserted
        result.updated += counts.updated
        result.unchanged += counts.unchanged
        result.dropped += batch.dropped
        result.type_errors.update(batch.type_errors)
        result.api_total = page.total
        last_page = page
        if on_page is not None:
            on_page(result, page)
    with engine.begin() as conn:
        state.complete_scan(
            conn,
            schema=schema,
            site_id=site_id,
            entity=entity.name,
            total=last_page.total if last_page else 0,
        )


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
