"""Pages batched per transaction: flushed in order, by size, by time, and on the way out."""

import time

import pytest

from pelcro_sync.api.pagination import Page
from pelcro_sync.pipeline.batching import EarlierBatchFailed, PageBuffer, PageWriter, Turn


def page(number: int, records: int = 100) -> Page:
    return Page(number=number, records=[{"id": i} for i in range(records)], last_page=None,
                total=None)  # fmt: skip


def test_an_unthrottled_scan_is_flushed_in_5000_record_batches_in_page_order():
    flushed: list[list[int]] = []
    with PageWriter([lambda pages, turn: flushed.append([p.number for p in pages])]) as writer:
        for n in range(1, 121):
            writer.put(page(n))
    assert [n for batch in flushed for n in batch] == list(range(1, 121))
    assert all(len(batch) <= 50 for batch in flushed)
    assert len(flushed) >= 3  # 12,000 records: never one transaction for the lot


def test_a_slow_scan_commits_what_waits_without_waiting_for_more():
    flushed: list[list[int]] = []
    with PageWriter([lambda pages, turn: flushed.append([p.number for p in pages])]) as writer:
        writer.put(page(1))
        deadline = time.monotonic() + 2
        while not flushed and time.monotonic() < deadline:
            time.sleep(0.01)
        assert flushed == [[1]]  # idle for 0.1 s: committed before the scan goes on
        writer.put(page(2))


def test_the_pages_read_are_flushed_when_the_scan_stops_with_an_error():
    flushed: list[int] = []
    with pytest.raises(KeyboardInterrupt), PageWriter(
        [lambda pages, turn: flushed.extend(p.number for p in pages)],
        buffer=PageBuffer(max_seconds=60),
    ) as writer:  # fmt: skip
        writer.put(page(1, records=10))
        writer.put(page(2, records=10))
        raise KeyboardInterrupt
    assert flushed == [1, 2]


def test_a_failed_flush_stops_the_scan_with_its_error():
    def fail(pages: list[Page], turn: Turn) -> None:
        raise RuntimeError("warehouse down")

    with pytest.raises(RuntimeError, match="warehouse down"), PageWriter([fail]) as writer:
        for n in range(1, 100):
            writer.put(page(n))


def test_batches_are_prepared_on_one_thread_and_written_in_order_on_another():
    import threading

    threads: dict[str, set[str]] = {"prepare": set(), "write": set()}
    written: list[int] = []

    def prepare(pages: list[Page]) -> list[int]:
        threads["prepare"].add(threading.current_thread().name)
        time.sleep(0.001 * (len(pages) % 3))  # uneven work must not reorder batches
        return [p.number for p in pages]

    def write(numbers: list[int], turn: Turn) -> None:
        threads["write"].add(threading.current_thread().name)
        written.extend(numbers)

    with PageWriter([write], prepare=prepare, buffer=PageBuffer(max_records=250)) as writer:
        for n in range(1, 41):
            writer.put(page(n))
    assert written == list(range(1, 41))
    assert len(threads["prepare"]) == len(threads["write"]) == 1
    assert threads["prepare"] != threads["write"]


def test_a_failed_prepare_still_writes_the_batches_prepared_before_it():
    written: list[int] = []

    def prepare(pages: list[Page]) -> list[int]:
        if pages[0].number > 3:
            raise ValueError("bad page")
        return [p.number for p in pages]

    with pytest.raises(ValueError, match="bad page"), PageWriter(
        [lambda numbers, turn: written.extend(numbers)], prepare=prepare,
        buffer=PageBuffer(max_records=100),
    ) as writer:  # fmt: skip
        for n in range(1, 100):
            writer.put(page(n))
    assert written == [1, 2, 3]


def _numbers(pages: list[Page]) -> list[int]:
    return [p.number for p in pages]


def test_two_writers_commit_in_page_order_though_later_batches_finish_first():
    import threading

    committed: list[int] = []
    lock = threading.Lock()

    def write(numbers: list[int], turn: Turn) -> None:
        time.sleep(0.02 if numbers[0] % 2 else 0.0)  # odd batches are slow to write
        turn.wait()
        with lock:
            committed.extend(numbers)

    with PageWriter([write, write], prepare=_numbers, buffer=PageBuffer(max_records=100)
                    ) as writer:  # fmt: skip
        for n in range(1, 31):
            writer.put(page(n))
    assert committed == list(range(1, 31))


def test_batches_that_conflict_never_overlap_in_time():
    import threading

    active: list[int] = []
    overlapped: list[tuple[int, int]] = []
    lock = threading.Lock()

    def write(numbers: list[int], turn: Turn) -> None:
        with lock:
            overlapped.extend((a, numbers[0]) for a in active)
            active.append(numbers[0])
        time.sleep(0.01)
        turn.wait()
        with lock:
            active.remove(numbers[0])

    # every batch conflicts with every other: the two writers must take turns
    with PageWriter([write, write], prepare=_numbers, conflicts=lambda a, b: True,
                    buffer=PageBuffer(max_records=100)) as writer:  # fmt: skip
        for n in range(1, 11):
            writer.put(page(n))
    assert overlapped == []


def test_after_a_failed_write_no_later_batch_commits():
    committed: list[int] = []
    refused: list[int] = []

    def write(numbers: list[int], turn: Turn) -> None:
        if numbers[0] == 3:
            time.sleep(0.02)  # the next batch is already waiting for its turn
            raise RuntimeError("warehouse down")
        try:
            turn.wait()
        except EarlierBatchFailed:
            refused.append(numbers[0])
            raise
        committed.append(numbers[0])

    with pytest.raises(RuntimeError, match="warehouse down"), PageWriter(
        [write, write], prepare=_numbers, buffer=PageBuffer(max_records=100)
    ) as writer:  # fmt: skip
        for n in range(1, 40):
            writer.put(page(n))
    assert committed == [1, 2]
    assert refused and all(n > 3 for n in refused)
