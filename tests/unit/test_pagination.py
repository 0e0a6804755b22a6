"""iter_pages: page order under concurrency, stop rules, resume, bounded window."""

import threading
import time

import pytest

from pelcro_sync.api import pagination
from pelcro_sync.api.pagination import iter_pages, page_params, parse_page
from pelcro_sync.errors import MalformedBodyError


def envelope(page: int, *, last_page: int, per_page: int = 3) -> dict:
    records = [] if page > last_page else [{"id": (page - 1) * per_page + i} for i in range(3)]
    return {
        "data": records,
        "links": {"next": "https://evil.test/?page=999"},
        "meta": {"current_page": page, "last_page": last_page, "total": last_page * per_page},
    }


class FakeFetch:
    """Records which pages were asked for and how many were in flight at once."""

    def __init__(self, last_page: int, *, delay: float = 0.0, bodies: dict | None = None):
        self.last_page, self.delay, self.bodies = last_page, delay, bodies or {}
        self.calls: list[int] = []
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()

    def __call__(self, page: int) -> dict:
        with self.lock:
            self.calls.append(page)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        time.sleep(self.latency(page))
        with self.lock:
            self.in_flight -= 1
        return self.bodies.get(page) or envelope(page, last_page=self.last_page)

    def latency(self, page: int) -> float:
        # Later pages answer sooner, so out-of-order completion is the norm here.
        return self.delay / page if self.delay else 0.0


def test_pages_come_in_order_under_concurrency() -> None:
    fetch = FakeFetch(20, delay=0.02)
    pages = list(iter_pages(fetch, concurrency=8))
    assert [p.number for p in pages] == list(range(1, 21))
    assert [r["id"] for p in pages for r in p.records] == list(range(60))
    assert 1 < fetch.max_in_flight <= 8
    assert sorted(fetch.calls) == list(range(1, 21))


def test_stops_at_last_page_without_asking_beyond_it() -> None:
    fetch = FakeFetch(3)
    pages = list(iter_pages(fetch, concurrency=4))
    assert [p.number for p in pages] == [1, 2, 3]
    assert max(fetch.calls) == 3
    assert pages[0].last_page == 3 and pages[0].total == 9


def test_stops_at_an_empty_page() -> None:
    empty = {"data": [], "meta": {"last_page": 5, "total": 15}}
    fetch = FakeFetch(5, bodies={3: empty})
    assert [p.number for p in iter_pages(fetch, concurrency=1)] == [1, 2, 3]


def test_single_empty_first_page() -> None:
    fetch = FakeFetch(0)
    pages = list(iter_pages(fetch))
    assert [(p.number, p.records) for p in pages] == [(1, [])]
    assert fetch.calls == [1]


def test_resumes_from_start_page() -> None:
    fetch = FakeFetch(6)
    assert [p.number for p in iter_pages(fetch, start_page=4)] == [4, 5, 6]
    assert min(fetch.calls) == 4


def test_without_last_page_reads_one_at_a_time_until_empty() -> None:
    bodies = {n: {"data": [{"id": n}] if n < 4 else []} for n in range(1, 10)}
    fetch = FakeFetch(99, bodies=bodies)
    assert [p.number for p in iter_pages(fetch, concurrency=8)] == [1, 2, 3, 4]
    assert fetch.calls == [1, 2, 3, 4]


def test_growing_last_page_is_followed() -> None:
    bodies = {1: envelope(1, last_page=2), 2: envelope(2, last_page=3), 3: envelope(3, last_page=3)}
    fetch = FakeFetch(3, bodies=bodies)
    assert [p.number for p in iter_pages(fetch, concurrency=4)] == [1, 2, 3]


def test_closing_early_cancels_the_rest() -> None:
    fetch = FakeFetch(500)
    gen = iter_pages(fetch, concurrency=4)
    assert [next(gen).number for _ in range(3)] == [1, 2, 3]
    gen.close()
    assert len(fetch.calls) <= 3 + 4  # at most one window beyond what was consumed


def test_a_failed_page_raises_in_order() -> None:
    def fetch(page: int) -> dict:
        if page == 3:
            raise RuntimeError("page 3 failed")
        return envelope(page, last_page=5)

    gen = iter_pages(fetch, concurrency=4)
    assert [next(gen).number for _ in range(2)] == [1, 2]
    with pytest.raises(RuntimeError, match="page 3"):
        next(gen)


def test_page_params_are_built_from_our_own_state() -> None:
    assert page_params(site_id=7, page=3, sort="id") == {
        "site_id": 7, "limit": 100, "page": 3, "sort": "id"
    }  # fmt: skip
    assert "sort" not in page_params(site_id=7, page=1)


def test_parse_page_rejects_a_non_list_data() -> None:
    with pytest.raises(MalformedBodyError):
        parse_page(1, {"data": {"id": 1}})


class SlowApi(FakeFetch):
    """Every page takes the same time to answer: the caller always waits for the API."""

    def latency(self, page: int) -> float:
        return self.delay


def test_a_slow_api_gets_every_page_in_flight_the_limit_allows() -> None:
    fetch = SlowApi(40, delay=0.02)
    assert [p.number for p in iter_pages(fetch, concurrency=8)] == list(range(1, 41))
    assert fetch.max_in_flight == 8


def test_a_slow_caller_keeps_few_pages_asked_ahead() -> None:
    fetch = SlowApi(40)  # answers at once
    numbers, ahead = [], []
    for page in iter_pages(fetch, concurrency=8):
        numbers.append(page.number)
        with fetch.lock:
            ahead.append(max(fetch.calls) - page.number)
        time.sleep(0.005)  # the caller's own work on each page
    assert numbers == list(range(1, 41))
    assert max(ahead[5:]) <= pagination.MIN_WINDOW  # once the window has settled


def test_the_window_grows_on_waits_and_shrinks_when_pages_wait_for_the_caller() -> None:
    window = pagination._Window(8)
    assert window.size == pagination.MIN_WINDOW
    for _ in range(10):
        window.observe(waited=True, ahead_done=False)
    assert window.size == 8
    window.observe(waited=False, ahead_done=False)  # in step: unchanged
    assert window.size == 8
    for _ in range(10):
        window.observe(waited=False, ahead_done=True)
    assert window.size == pagination.MIN_WINDOW
    assert pagination._Window(1).size == 1  # never above the limit
    one = pagination._Window(1)
    one.observe(waited=False, ahead_done=True)
    assert one.size == 1
