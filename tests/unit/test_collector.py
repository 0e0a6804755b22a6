"""The collector policy of a sync: raised while any sync runs, restored after the last."""

import gc
import threading
from collections.abc import Iterator

import pytest

from pelcro_sync import collector


@pytest.fixture(autouse=True)
def _restore_thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_raised_during_a_sync_and_restored_after() -> None:
    gc.set_threshold(700, 10, 10)
    with collector.relaxed_during_sync():
        assert gc.get_threshold() == (collector.SYNC_THRESHOLD, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_a_process_threshold_above_the_sync_one_is_kept() -> None:
    gc.set_threshold(collector.SYNC_THRESHOLD * 2, 5, 5)
    with collector.relaxed_during_sync():
        assert gc.get_threshold() == (collector.SYNC_THRESHOLD * 2, 5, 5)
    assert gc.get_threshold() == (collector.SYNC_THRESHOLD * 2, 5, 5)


def test_overlapping_syncs_restore_only_when_the_last_ends() -> None:
    gc.set_threshold(700, 10, 10)
    first_in, release = threading.Event(), threading.Event()

    def long_sync() -> None:
        with collector.relaxed_during_sync():
            first_in.set()
            release.wait(5)

    thread = threading.Thread(target=long_sync)
    thread.start()
    assert first_in.wait(5)
    with collector.relaxed_during_sync():
        pass  # a short sync on another thread starts and ends meanwhile
    assert gc.get_threshold()[0] == collector.SYNC_THRESHOLD  # the long one still runs
    release.set()
    thread.join(5)
    assert gc.get_threshold() == (700, 10, 10)


def test_restored_when_a_sync_raises() -> None:
    gc.set_threshold(700, 10, 10)
    with pytest.raises(RuntimeError), collector.relaxed_during_sync():
        raise RuntimeError("the sync failed")
    assert gc.get_threshold() == (700, 10, 10)


def test_paused_restores_the_collector_as_it_was() -> None:
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector.paused():
            pass
        assert not gc.isenabled()  # it was off before: left off
    finally:
        gc.enable()
