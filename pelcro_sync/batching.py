"""Several pages per transaction, written on a thread of their own.

A transaction per 100-record page spent most of the sync on per-commit and per-batch costs
(normalize is ~3x cheaper per record on 1,000 records than on 100). Pages are buffered and
flushed together once ~1,000 records are waiting, ~1 s after the last flush, when no page
came for 0.1 s, or at the end: an unthrottled scan gets big batches, while a rate-limited
one (2 pages/s) commits every page it waits for, so a killed scan redoes at most a page
or two.

A flush is two stages on two threads, fed through bounded queues: `prepare` (normalize,
pure Python) and `write` (the transaction, mostly waiting on Postgres). So fetching and
parsing the next pages, normalizing the next batch and writing the last one overlap;
batches are still written strictly in page order, each in one transaction.
"""

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

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
_POLL_S = 0.1  # how often a blocked thread looks whether the next stage died
# Batches normalized ahead of the transaction: one being written, one ready.
READY_BATCHES = 1

Prepare = Callable[[list[Page]], Any]
Write = Callable[[Any], None]
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
    """`put` pages in order; batches of them are prepared, then written, in order.

    `prepare(pages)` runs on one thread and `write(prepared)` on another (`prepare`
    defaults to passing the pages on). Leaving the `with` block writes whatever was put,
    even when the block raised: pages already read are as good as a page-per-transaction
    scan would have committed. An error of either stage is raised by the next `put`, or on
    leaving the block; batches prepared before a failed `prepare` are still written.
    """

    def __init__(self, write: Write, *, prepare: Prepare = lambda pages: pages,
                 buffer: PageBuffer | None = None, depth: int = QUEUE_PAGES) -> None:  # fmt: skip
        self._prepare = prepare
        self._write = write
        self._buffer = buffer or PageBuffer()
        self._pages: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._ready: queue.Queue[object] = queue.Queue(maxsize=READY_BATCHES)
        self._error: BaseException | None = None
        self._preparer = threading.Thread(target=self._run_prepare, name="pelcro-prepare",
                                          daemon=True)  # fmt: skip
        self._writer = threading.Thread(target=self._run_write, name="pelcro-writer",
                                        daemon=True)  # fmt: skip

    def __enter__(self) -> "PageWriter":
        self._writer.start()
        self._preparer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _put(self._pages, _END, self._preparer)
        self._preparer.join()
        self._writer.join()
        if self._error is not None:
            if exc is None:
                raise self._error
            # The block's own error says why the scan stopped; this one came after it.
            log.warning("writing the last pages failed too: %s", type(self._error).__name__)

    def put(self, page: Page) -> None:
        if not _put(self._pages, page, self._preparer) or self._error is not None:
            raise self._error or RuntimeError("the page writer stopped")

    def _fail(self, exc: BaseException) -> None:
        if self._error is None:  # the first error is the cause; later ones follow from it
            self._error = exc

    def _run_prepare(self) -> None:
        buffer = self._buffer
        try:
            while self._error is None:
                left = buffer.seconds_left()
                try:
                    item = self._pages.get(
                        timeout=None if left is None else max(0.0, min(left, IDLE_S))
                    )
                except queue.Empty:  # due by time, or the reader stalled: commit what waits
                    self._hand_on(buffer.take())
                    continue
                if item is _END:
                    break
                buffer.add(item)  # type: ignore[arg-type]
                if buffer.due():
                    self._hand_on(buffer.take())
            if buffer.pages and self._error is None:
                self._hand_on(buffer.take())
        except BaseException as exc:  # handed to the reader, which raises it
            self._fail(exc)
        finally:
            _put(self._ready, _END, self._writer)

    def _hand_on(self, pages: list[Page]) -> None:
        if not _put(self._ready, self._prepare(pages), self._writer):
            raise self._error or RuntimeError("the writer stopped")

    def _run_write(self) -> None:
        try:
            while (item := self._ready.get()) is not _END:
                self._write(item)
        except BaseException as exc:
            self._fail(exc)


def _put(into: queue.Queue[object], item: object, consumer: threading.Thread) -> bool:
    """Put `item` unless `consumer` has ended (False): a dead stage must not block the
    stage before it forever."""
    while consumer.is_alive():
        try:
            into.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False
