"""Live progress bars per entity and the summary table that ends a sync."""

import threading
import time
from collections.abc import Sequence
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from pelcro_sync.api.pagination import Page
from pelcro_sync.pipeline.runner import Task
from pelcro_sync.pipeline.sync import EntityResult
from pelcro_sync.transform import drift


class SyncProgress:
    """One bar per (entity, site): pages done of the last page, records, request rate."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(bar_width=28),
            MofNCompleteColumn(),
            TextColumn("pages  {task.fields[records]:>9,} records  {task.fields[rate]:>6} req/s"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
            disable=not console.is_terminal,
        )
        self._tasks: dict[tuple[str, int], TaskID] = {}
        self._started: dict[tuple[str, int], float] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> "SyncProgress":
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def start(self, task: Task) -> None:
        key = (task.entity.name, task.site_id)
        with self._lock:
            self._started[key] = time.monotonic()
            self._tasks[key] = self._progress.add_task(
                f"{task.entity.name} (site {task.site_id})", total=None, records=0, rate="-"
            )

    def page(self, result: EntityResult, page: Page) -> None:
        key = (result.entity, result.site_id)
        with self._lock:
            task_id = self._tasks.get(key)
            elapsed = time.monotonic() - self._started.get(key, time.monotonic())
        if task_id is None:
            return
        rate = f"{result.pages / elapsed:.1f}" if elapsed > 0 else "-"
        first = result.resumed_from_page or 1
        last = page.last_page or page.number  # unknown when the API sends no meta
        self._progress.update(
            task_id,
            completed=page.number - first + 1,
            total=max(last - first + 1, 1),
            records=result.records_read,
            rate=rate,
        )


def summary_table(
    results: Sequence[EntityResult], failures: Sequence[tuple[Task, BaseException]]
) -> Table:
    """Rows inserted / updated / unchanged / deleted per entity and site, then the failures."""
    table = Table(title="pelcro-sync summary", title_justify="left")
    for col in (
        "entity",
        "site",
        "mode",
        "status",
        "read",
        "inserted",
        "updated",
        "unchanged",
        "deleted",
        "untyped",
        "requests",
        "GETs",
        "429s",
        "seconds",
    ):
        table.add_column(col, justify="left" if col in ("entity", "mode", "status") else "right")
    for r in sorted(results, key=lambda r: (r.site_id, r.entity)):
        table.add_row(
            r.entity,
            str(r.site_id),
            r.mode,
            r.status,
            f"{r.records_read:,}",
            f"{r.inserted:,}",
            f"{r.updated:,}",
            f"{r.unchanged:,}",
            f"{r.deleted:,}",
            f"{sum(r.type_errors.values()):,}",
            f"{r.requests:,}",
            f"{r.confirm_gets:,}",
            f"{r.throttled:,}",
            f"{r.duration_s:.1f}",
        )
    for task, _ in failures:
        table.add_row(task.entity.name, str(task.site_id), "[red]failed[/]")
    total = sum(r.records_read for r in results)
    written = sum(r.written for r in results)
    table.caption = f"{total:,} records read, {written:,} rows written"
    skipped = [r for r in results if r.status == "skipped"]
    if skipped:
        # Entities the fast path cannot cover stay fresh through reconcile scans / webhooks.
        table.caption += (
            f"; {len(skipped)} skipped (not covered by the fast path, scanned recently)"
        )
    if failures:
        table.caption += f"; {len(failures)} failed (reason below)"
    # Drift never stops a sync (values stay in _raw), so it must at least be seen: one line
    # per entity and kind of drift, naming the sites that showed it.
    sites_by_drift: dict[tuple[str, str], list[str]] = {}
    for r in sorted(results, key=lambda r: (r.entity, r.site_id)):
        if seen := drift.describe(r.drift, r.type_errors):
            sites_by_drift.setdefault((r.entity, seen), []).append(str(r.site_id))
    for (entity, seen), sites in sites_by_drift.items():
        label = "site" if len(sites) == 1 else "sites"
        table.caption += f"\nschema drift in {entity} ({label} {', '.join(sites)}): {seen}"
    return table
