"""Several pages per transaction, written on a thread of their own.

A transaction per 100-record page spent most of the sync on per-commit and per-batch costs
(normalize is ~3x cheaper per record on 1,000 records than on 100). Pages are buffered and
flushed together once ~1,000 records are waiting, ~1 s after the last flush, when no page
came for 0.1 s, or at the end: an unthrottled scan gets big batches, while a rate-limited
one (2 pages/s) commits every page it waits for, so a killed scan redoes at most a page
or two.

The flushes run on a writer thread fed through a bounded queue, so fetching and parsing
the next pages overlaps with normalizing and writing the last ones; pages are still
flushed strictly in page order, each flush in one transaction.
"""

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

from pelcro_sync.pagination import Page

log = logging.getLogger(__name__)

FLUSH_RECORDS = 1_000
FLUSH_SECONDS = 1.0
# Pages read ahead of the writer: enough to keep fetching through a 1,000-record flush,
# few enough that memory stays bounded (~25 pages of 100 records).
QUEUE_PAGES = 25
# No page for this long (a slow or rate-limited API): commit what waits instead of holding
# it, since the writer is idle anyway. An unthrottled scan never pauses this long.
IDLE_S = 0.1
_POLL_S = 0.1  # how often a blocked reader looks whether the writer died

Flush = Callable[[list[Page]], None]
_END = object()


@dataclass
class PageBuffer:
    """Pages waiting for their transaction, and when they are due."""

    max_records: int = FLUSH_RECORDS
    max_seconds: float = FLUSH_SECONDS
    pages: list[Page] = field(default_factory=list)
    records: int = 0
    last_flush: float = field(default_factory=time.monotonic)

    def add(self, page: Page) -> None:
        self.pages.append(page)
        self.records += len(page.records)

    def due(self) -> bool:
        left = self.seconds_left()
        return left is not None and (self.records >= self.max_records or left <= 0)

    def seconds_left(self) -> float | None:
        """Until the buffer is due by time; None when it is empty (nothing to wait for)."""
        if not self.pages:
            return None
        return self.last_flush + self.max_seconds - time.monotonic()

    def take(self) -> list[Page]:
        pages, self.pages, self.records = self.pages, [], 0
        self.last_flush = time.monotonic()
        return pages


class PageWriter:
    """`put` pages in order; a writer thread calls `flush` on batches of them, in order.

    Leaving the `with` block flushes whatever was put, even when the block raised: pages
    already read are as good as a page-per-transaction scan would have committed. An
    error of the writer is raised by the next `put`, or on leaving the block.
    """

    def __init__(self, flush: Flush, *, buffer: PageBuffer | None = None,
                 depth: int = QUEUE_PAGES) -> None:  # fmt: skip
        self._flush = flush
        self._buffer = buffer or PageBuffer()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="pelcro-writer", daemon=True)

    def __enter__(self) -> "PageWriter":
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._put(_END)
        self._thread.join()
        if self._error is not None:
            if exc is None:
                raise self._error
            # The block's own error says why the scan stopped; this one came after it.
            log.warning("writing the last pages failed too: %s", type(self._error).__name__)

    def put(self, page: Page) -> None:
        self._put(page)
        if self._error is not None:
            raise self._error

    def _put(self, item: object) -> None:
        while self._thread.is_alive():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return
            except queue.Full:
                continue
        if self._error is not None and item is not _END:
            raise self._error

    def _run(self) -> None:
        buffer = self._buffer
        try:
            while True:
                left = buffer.seconds_left()
                try:
                    item = self._queue.get(
                        timeout=None if left is None else max(0.0, min(left, IDLE_S))
                    )
                except queue.Empty:  # due by time, or the reader stalled: commit what waits
                    self._flush(buffer.take())
                    continue
                if item is _END:
                    break
                buffer.add(item)  # type: ignore[arg-type]
                if buffer.due():
                    self._flush(buffer.take())
            if buffer.pages:
                self._flush(buffer.take())
        except BaseException as exc:  # handed to the reader, which raises it
            self._error = exc
