"""What one sync of one entity on one site did, and the per-page progress callback's type."""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from pelcro_sync.api.pagination import Page
from pelcro_sync.entities import get_entity
from pelcro_sync.transform.drift import Drift
from pelcro_sync.transform.normalize import NormalizedBatch
from pelcro_sync.warehouse.upsert import UpsertCounts


@dataclass
class EntityResult:
    """What one sync of one entity on one site did; the CLI summary and Dagster metadata."""

    entity: str
    site_id: int
    mode: str
    run_id: str = ""
    # running, succeeded, failed; or skipped / deferred (no run recorded; deferred: the
    # time limit came before its turn)
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
    delete_candidates: int = 0
    confirm_gets: int = 0
    note: str | None = None
    # A scan the time limit stopped (`pelcro_sync.pipeline.timebox`): the page it resumes at.
    stopped_at_page: int | None = None
    # How this run confirmed delete candidates ("GET by id", "page re-read", "second scan"),
    # and, for the second-scan fallback, why nothing else could.
    delete_check: str | None = None
    delete_fallback: str | None = None
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
# commits it with the pages around it (`pelcro_sync.pipeline.batching`) within ~1 s; a scan that
# stops (an error, or the callback raising) first commits every page it has read, so a
# page the callback has seen is lost only if the warehouse itself fails.
ProgressCallback = Callable[[EntityResult, Page], None]
