"""Sync several entities of several sites at once, on one shared request budget.

The CLI and `demo` call this; Dagster runs `sync.sync_entity` per asset instead, because
there each (entity, site) is its own step.
"""

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from pelcro_sync.api.client import PelcroClient
from pelcro_sync.config import Settings
from pelcro_sync.entities import ENTITIES, Entity
from pelcro_sync.errors import AuthError, PelcroSyncError, PermissionDeniedError
from pelcro_sync.pipeline import timebox
from pelcro_sync.pipeline.reconcile import DeletePolicy
from pelcro_sync.pipeline.sync import EntityResult, ProgressCallback, sync_entity
from pelcro_sync.pipeline.timebox import Deadline
from pelcro_sync.redact import redact
from pelcro_sync.warehouse.engine import connection_error
from pelcro_sync.warehouse.warehouse import Warehouse

log = logging.getLogger(__name__)

# Errors after which every other entity would fail the same way: stop at once.
FATAL = (AuthError, PermissionDeniedError)


@dataclass(frozen=True)
class Task:
    entity: Entity
    site_id: int


def resolve_sites(client: PelcroClient, requested: Sequence[int]) -> tuple[int, ...]:
    """The sites to sync: those asked for (each checked against the account), else all."""
    available = client.site_ids()
    if not requested:
        return available
    account_sites = tuple(s["id"] for s in client.account().get("sites", []))
    unknown = [s for s in requested if account_sites and s not in account_sites]
    if unknown:
        listed = ", ".join(str(s) for s in account_sites) or "none"
        raise PelcroSyncError(
            f"site {unknown[0]} is not a site of this Pelcro account (its sites: {listed}); "
            "check PELCRO_SITE_ID or --site"
        )
    return tuple(requested)


def plan(entities: Sequence[Entity] | None, sites: Sequence[int]) -> list[Task]:
    """Every (entity, site) pair, entities in registry order within each site."""
    chosen = entities or ENTITIES
    return [Task(entity=e, site_id=s) for s in sites for e in chosen]


def run_tasks(
    settings: Settings,
    tasks: Sequence[Task],
    *,
    warehouse: Warehouse,
    full: bool = False,
    workers: int = 4,
    on_start: Callable[[Task], None] | None = None,
    on_page: ProgressCallback | None = None,
    delete_policy: DeletePolicy | None = None,
    lock_wait_s: float = 0.0,
    deadline: Deadline | None = None,
) -> tuple[list[EntityResult], list[tuple[Task, BaseException]]]:
    """Run tasks on a thread pool; each has its own client, all share the process budget.

    `full`: reconcile scans (every page, then delete detection); otherwise the fast path,
    with a full scan for the entities it cannot cover once they are stale.

    Returns the results of the tasks that finished and the failures. A fatal error (the
    key rejected, no permission) cancels the tasks not yet started. `deadline`: full scans
    stop then and resume next run, and tasks whose turn comes later do not start
    (`pelcro_sync.pipeline.timebox`; order the tasks with `timebox.fair_order`).
    """
    results: list[EntityResult] = []
    failures: list[tuple[Task, BaseException]] = []

    def run(task: Task) -> EntityResult:
        if deadline is not None and deadline.expired():
            return timebox.not_started(task, warehouse=warehouse)
        if on_start is not None:
            on_start(task)
        with PelcroClient(settings) as client:
            return sync_entity(
                client,
                warehouse=warehouse,
                entity=task.entity,
                site_id=task.site_id,
                mode="full" if full else "fast",
                on_page=on_page,
                delete_policy=delete_policy,
                lock_wait_s=lock_wait_s,
                deadline=deadline,
            )

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="sync") as pool:
        futures: dict[Future[EntityResult], Task] = {pool.submit(run, t): t for t in tasks}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for fut in done:
                if fut.cancelled():
                    continue
                exc = fut.exception()
                if exc is None:
                    results.append(fut.result())
                    continue
                failures.append((futures[fut], exc))
                if isinstance(exc, FATAL):
                    for other in pending:
                        other.cancel()
    return results, failures


def explain(exc: BaseException, *, database_url: str | None = None) -> str:
    """One line for any failure: our own errors as they are, a lost database as such."""
    if isinstance(exc, PelcroSyncError):
        message = str(exc)
    elif (isinstance(exc, DBAPIError) and exc.connection_invalidated) or (
        database_url and isinstance(exc, SQLAlchemyError) and "connect" in str(exc).lower()
    ):
        message = str(connection_error(exc, url=database_url or ""))
    else:
        first = (str(exc).strip().splitlines() or [""])[0]
        message = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return redact(" ".join(message.split()))
