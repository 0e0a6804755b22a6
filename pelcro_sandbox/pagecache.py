"""Opt-in cache of encoded Core API bodies, so a warmed sandbox serves pages cheaply.

Only the body is cached: auth, site checks, throttling, latency and faults still run per
request upstream. An entry remembers the dataset version it was rendered from and is
served only while that is still the dataset's version, so any mutation invalidates it.
"""

import threading
from collections.abc import Callable, Hashable

from pelcro_sandbox.dataset import Dataset


class PageCache:
    """Unbounded: one entry per distinct request (newer versions overwrite older)."""

    def __init__(self) -> None:
        self._pages: dict[Hashable, tuple[int, bytes]] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0  # for tests and curiosity; updated without the lock

    def fetch(self, dataset: Dataset, key: Hashable, render: Callable[[], bytes]) -> bytes:
        """The encoded body for `key`, rendering it with `render()` on a miss."""
        # Read the version BEFORE rendering: if a mutation lands meanwhile, the body may be
        # newer than its label, never older, and a stale label is simply never served.
        version = dataset.version
        entry = self._pages.get(key)
        if entry is not None and entry[0] == version:
            self.hits += 1
            return entry[1]
        self.misses += 1
        body = render()  # an ApiError (e.g. 404) propagates, nothing cached
        with self._lock:
            old = self._pages.get(key)
            if old is None or old[0] <= version:  # a slow older render must not win
                self._pages[key] = (version, body)
        return body
