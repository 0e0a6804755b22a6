"""Timing wrappers around the sync's stages, installed in the sync's own process.

Nothing in `pelcro_sync` is edited: the wrappers replace, for one bench process, the
names `scan.py` and `client.py` look up (`_prepare`, `_scan_writer`, `_parse_ok`, the
client's `request_json` and `iter_pages`). Times are summed over threads, so a stage that
runs on several threads at once (fetch, parse) can add up to more than the wall time.
"""

import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from pelcro_sync.api import client as client_module
from pelcro_sync.api.client import PelcroClient
from pelcro_sync.pipeline import scan as scan_module
from pelcro_sync.pipeline import sync as sync_module

TIMES: dict[str, float] = defaultdict(float)
_LOCK = threading.Lock()


def _add(stage: str, seconds: float) -> None:
    with _LOCK:
        TIMES[stage] += seconds


def _timed(stage: str, fn: Any) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _add(stage, time.perf_counter() - start)

    return wrapper


def install() -> None:
    """Wrap the stages once per process."""
    if getattr(install, "done", False):
        return
    install.done = True  # type: ignore[attr-defined]
    client_module._parse_ok = _timed("parse", client_module._parse_ok)
    # request_json includes its parse; `report` subtracts it to give the HTTP round trip.
    PelcroClient.request_json = _timed("fetch+parse", PelcroClient.request_json)  # type: ignore[method-assign]
    # normalize and COPY encoding, on the prepare thread
    scan_module._prepare = _timed("prepare", scan_module._prepare)
    reconcile = getattr(sync_module, "reconcile", None)  # delete detection after the scan
    if reconcile is not None and hasattr(reconcile, "detect_deletes"):
        reconcile.detect_deletes = _timed("reconcile", reconcile.detect_deletes)
    scan_writer = scan_module._scan_writer  # batched scans: write on their own threads

    def timed_scan_writer(*args: Any, **kwargs: Any) -> Any:
        return _timed("flush", scan_writer(*args, **kwargs))

    scan_module._scan_writer = timed_scan_writer
    original_iter_pages = PelcroClient.iter_pages

    def iter_pages(self: PelcroClient, *args: Any, **kwargs: Any) -> Iterator[Any]:
        pages = original_iter_pages(self, *args, **kwargs)
        mark = time.perf_counter()
        while True:
            start = time.perf_counter()
            _add("consumer", start - mark)  # the sync's own work on the previous page
            try:
                page = next(pages)
            except StopIteration:
                return
            finally:
                mark = time.perf_counter()
                _add("wait", mark - start)  # the sync waiting for the next page
            yield page

    PelcroClient.iter_pages = iter_pages  # type: ignore[method-assign]


def report() -> dict[str, float]:
    """Seconds per stage: fetch (HTTP round trips), parse, prepare (normalize and COPY
    encoding), write (COPY, merge, seen ids and checkpoint commit), wait (the reader
    waiting for pages)."""
    t = dict(TIMES)
    return {
        "fetch": t.get("fetch+parse", 0.0) - t.get("parse", 0.0),
        "parse": t.get("parse", 0.0),
        # prepare runs on the prepare thread, the write (`flush`) on the writer threads
        "prepare": t.get("prepare", 0.0),
        "write": t.get("flush", 0.0),
        "wait": t.get("wait", 0.0),
        "reconcile": t.get("reconcile", 0.0),
    }


def reset() -> None:
    with _LOCK:
        TIMES.clear()
