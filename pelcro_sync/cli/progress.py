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
    results: Sequence[EntityResult],
    failures: Sequence[tuple[Task, BaseException]],
    *,
    verbose: bool = False,
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
    deferred = [r for r in results if r.status == "deferred"]
    if deferred:
        table.caption += f"; {len(deferred)} not started (the time limit came first)"
    if failures:
        table.caption += f"; {len(failures)} failed (reason below)"
    table.caption += fallback_lines(results)
    # Once per entity, whatever the number of sites: the account does not offer it.
    for name in sorted({r.entity for r in results if r.status == "unavailable"}):
        table.caption += f"\n{name}: not available on this account (skipped)"
    table.caption += drift_lines(results, verbose=verbose)
    return table


def drift_lines(results: Sequence[EntityResult], *, verbose: bool) -> str:
    """What the records showed beyond the docs, as caption lines.

    Drift never stops a sync (values stay in `_raw`), so it must be seen; but fields the
    docs do not list are routine (the real API sends some too), so by default they are one
    informational line, the names with --verbose. A declared field that records no longer
    carry, or values that did not fit their column, may need a look: a line each.
    """
    undocumented: dict[str, set[str]] = {}
    notes = []
    for r in sorted(results, key=lambda r: (r.entity, r.site_id)):
        undocumented.setdefault(r.entity, set()).update(r.drift.novel_new())
        needs_look = drift.Drift(missing_fields=r.drift.novel_missing())
        if seen := drift.describe(needs_look, r.type_errors):
            notes.append(f"\nnote: {r.entity} (site {r.site_id}): {seen}")
    undocumented = {entity: names for entity, names in undocumented.items() if names}
    if verbose:
        lines = [
            f"\nundocumented fields of {e} (kept in _raw): {', '.join(sorted(names))}"
            for e, names in undocumented.items()
        ]
    elif undocumented:
        n = len(undocumented)
        lines = [
            f"\ninfo: {n} {'entity carries' if n == 1 else 'entities carry'} fields the API "
            "docs do not list (kept in _raw, nothing lost; --verbose names them)"
        ]
    else:
        lines = []
    return "".join(lines + notes)


def fallback_lines(results: Sequence[EntityResult]) -> str:
    """Which entities' deletes wait for a second complete scan this run, and why: the
    others were confirmed in the same run (GET by id, or list pages re-read)."""
    why: dict[str, set[str]] = {}
    for r in results:
        if r.delete_fallback:
            why.setdefault(r.delete_fallback, set()).add(r.entity)
    return "".join(
        f"\ndeletes of {', '.join(sorted(names))}: confirmed by a second complete scan "
        f"(fallback: {reason})"
        for reason, names in sorted(why.items())
    )
