"""How a sync lets Python's cyclic garbage collector run.

Records are freed by reference counting once their batch is written; the collector only
has the few cycles each request leaves behind (httpx's response and its stream, ~50 small
objects) to find. Yet at its default trigger (700 tracked objects more than were freed) it
runs every few pages, because a parsed page is hundreds of dicts: each pass walks the
pages still queued for writing, promotes them, and every ~30,000 promotions a full pass
walks the whole heap (pandas and SQLAlchemy are ~125,000 objects, ~75 ms a pass). Measured
on a 60,000-record sync: 0.30-0.36 s of 2.5 s spent collecting.
"""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# The young generation's trigger during a sync. A scan holds up to ~20,000 records alive
# at once (pages queued, batches being typed and written), ~40,000 tracked objects that a
# pass walks without freeing any; the per-request cycles (~50 small objects a request)
# reach the rest every ~1,200 requests, so garbage stays bounded (response bodies are not
# in those cycles: the client reads them as a stream).
SYNC_THRESHOLD = 100_000

_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def relaxed_during_sync() -> Iterator[None]:
    """Raise the young generation's trigger while any sync of this process runs (syncs run
    on several threads at once; the first to start raises it, the last to end restores
    what the process had)."""
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(SYNC_THRESHOLD, _saved[0]), *_saved[1:])
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None


@contextmanager
def paused() -> Iterator[None]:
    """Pause the collector around a loop over many small dicts, where it would otherwise
    spend more than half the time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
