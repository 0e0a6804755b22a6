"""Several pages per transaction, written on a thread of their own.

A transaction per 100-record page spent most of the sync on per-commit and per-batch costs
(normalize is ~3x cheaper per record on 1,000 records than on 100). Pages are buffered and
flushed together once ~5,000 records are waiting, ~1 s after the last flush, when no page
came for 0.1 s, or at the end: an unthrottled scan gets big batches, while a rate-limited
one (2 pages/s) commits every page it waits for, so a killed scan redoes at most a page
or two.

A flush is two stages fed through bounded queues: `prepare` (normalize, pure Python) on
one thread, then `write` (a transaction, mostly waiting on Postgres) on one of several
writer threads, each with its own connection. Fetching the next pages, normalizing the
next batch and writing the last ones overlap, and two transactions in flight keep both
cores busy where one leaves Postgres waiting on us and us on it (1,000-record merges:
1.7x the rows per second with two). Commits stay in page order: a write waits for its
turn (`Turn.wait`, every earlier batch written) before it checkpoints and commits, and a
batch that could contend with an earlier one in flight (`conflicts`) waits for its turn
before it starts, since it would otherwise wait on the earlier batch's row locks while
the earlier batch waits on nothing: never a deadlock.
"""

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from pelcro_sync.api.pagination import Page

log = logging.getLogger(__name__)

# Per-batch costs (pandas per column in normalize and encode, round trips, commits) are
# why: 2,500 rather than 1,000 gave 1.2x the records per second unthrottled. 5,000 rather
# than 2,500, measured once the cyclic collector no longer ran every few pages: 1.07-1.19x
# the rate and 8% less CPU per record, for ~55 MiB more peak memory (250 MiB in all).
FLUSH_RECORDS = 5_000
FLUSH_SECONDS = 1.0
# Pages read ahead of the writer: enough to keep fetching through a flush, few enough that
# memory stays bounded (~25 pages of 100 records).
QUEUE_PAGES = 25
# No page for this long (a slow or rate-limited API): commit what waits instead of holding
# it, since the writer is idle anyway. An unthrottled scan never pauses this long.
IDLE_S = 0.1
_POLL_S = 0.1  # how often a blocked thread looks whether the next stage died
# Batches normalized ahead of the transactions: one per writer in flight, one ready.
READY_BATCHES = 1


class EarlierBatchFailed(Exception):
    """An earlier batch was not written: this one must not commit past it."""


class Turn:
    """A batch's place in the commit order."""

    def __init__(self, order: "_Order", seq: int) -> None:
        self._order, self.seq = order, seq

    def wait(self) -> None:
        """Block until every earlier batch is written; EarlierBatchFailed if one failed."""
        self._order.wait_for(self.seq)


Prepare = Callable[[list[Page]], Any]
Write = Callable[[Any, Turn], None]
Conflicts = Callable[[Any, Any], bool]  # (earlier, later) prepared batches
_END = object()


class _Order:
    """Which batches are written; wakes the ones waiting for their turn."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._next = 0  # every batch before this one is written
        self._written: set[int] = set()
        self._failed = False

    def wait_for(self, seq: int) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._failed or self._next >= seq)
            if self._next < seq:
                raise EarlierBatchFailed(f"batch {seq} follows a batch that was not written")

    def written(self, seq: int) -> None:
        with self._cond:
            self._written.add(seq)
            while self._next in self._written:
                self._written.discard(self._next)
                self._next += 1
            self._cond.notify_all()

    @property
    def is_failed(self) -> bool:
        return self._failed

    def failed(self) -> None:
        with self._cond:
            self._failed = True
            self._cond.notify_all()


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

    `prepare(pages)` runs on one thread (it defaults to passing the pages on); each of
    `writes` on a thread of its own, called as `write(prepared, turn)`: it must call
    `turn.wait()` before committing. Leaving the `with` block writes whatever was put,
    even when the block raised: pages already read are as good as a page-per-transaction
    scan would have committed. The first error of any stage is raised by the next `put`,
    or on leaving the block; batches prepared before a failed `prepare` are still written,
    none after a failed write.
    """

    def __init__(
        self,
        writes: Sequence[Write],
        *,
        prepare: Prepare = lambda pages: pages,
        conflicts: Conflicts = lambda earlier, later: False,
        buffer: PageBuffer | None = None,
        depth: int = QUEUE_PAGES,
    ) -> None:
        self._prepare = prepare
        self._conflicts = conflicts
        self._buffer = buffer or PageBuffer()
        self._pages: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._ready: queue.Queue[object] = queue.Queue(maxsize=READY_BATCHES)
        self._order = _Order()
        self._in_flight: dict[int, Any] = {}  # prepared, not yet written
        self._lock = threading.Lock()
        self._seq = 0
        self._error: BaseException | None = None
        self._preparer = threading.Thread(
            target=self._run_prepare, name="pelcro-prepare", daemon=True
        )
        self._writers = [
            threading.Thread(
                target=self._run_write, args=(write,), name=f"pelcro-writer-{i}", daemon=True
            )
            for i, write in enumerate(writes)
        ]

    def __enter__(self) -> "PageWriter":
        for thread in (*self._writers, self._preparer):
            thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _put(self._pages, _END, [self._preparer])
        for thread in (self._preparer, *self._writers):
            thread.join()
        if self._error is not None:
            if exc is None:
                raise self._error
            # The block's own error says why the scan stopped; this one came after it.
            log.warning("writing the last pages failed too: %s", type(self._error).__name__)

    def put(self, page: Page) -> None:
        if not _put(self._pages, page, [self._preparer]) or self._error is not None:
            raise self._error or RuntimeError("the page writer stopped")

    def _fail(self, exc: BaseException) -> None:
        with self._lock:
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
            for _ in self._writers:
                _put(self._ready, _END, self._writers)

    def _hand_on(self, pages: list[Page]) -> None:
        prepared = self._prepare(pages)
        with self._lock:
            seq, self._seq = self._seq, self._seq + 1
            self._in_flight[seq] = prepared
        if not _put(self._ready, (seq, prepared), self._writers):
            raise self._error or RuntimeError("the writers stopped")

    def _run_write(self, write: Write) -> None:
        while (item := self._ready.get()) is not _END:
            seq: int
            prepared: Any
            seq, prepared = item  # type: ignore[misc]
            if self._order.is_failed:
                continue  # nothing is written after a failed batch; drain to the end
            try:
                turn = Turn(self._order, seq)
                if self._contends(seq, prepared):
                    turn.wait()
                write(prepared, turn)
            except BaseException as exc:
                self._fail(exc)
                self._order.failed()
                continue
            with self._lock:
                del self._in_flight[seq]
            self._order.written(seq)

    def _contends(self, seq: int, prepared: Any) -> bool:
        with self._lock:
            earlier = [p for s, p in self._in_flight.items() if s < seq]
        return any(self._conflicts(e, prepared) for e in earlier)


def _put(into: queue.Queue[object], item: object, consumers: Sequence[threading.Thread]) -> bool:
    """Put `item` unless every consumer has ended (False): a dead stage must not block the
    stage before it forever."""
    while any(c.is_alive() for c in consumers):
        try:
            into.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False
