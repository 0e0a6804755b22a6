"""Page-number pagination: pages fetched a window at a time, yielded strictly in page order."""

from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pelcro_sync.errors import MalformedBodyError

PAGE_SIZE = 100  # the API's maximum `limit`

# fetch(page_number) -> the parsed list envelope {"data": [...], "meta": {...}}
FetchPage = Callable[[int], Mapping[str, Any]]


@dataclass(frozen=True)
class Page:
    """One page of one entity for one site; `last_page`/`total` as the server reported them."""

    number: int
    records: list[dict[str, Any]]
    last_page: int | None
    total: int | None


def page_params(
    *,
    site_id: int,
    page: int,
    limit: int = PAGE_SIZE,
    sort: str | None = None,
    filters: Mapping[str, str] | None = None,
) -> dict[str, str | int]:
    """Query for one list page, built from OUR params: the `links` in the envelope drop
    `site_id` and `limit`, so following them would silently read another shape of data.
    `filters` are further query parameters as the API names them (`status`,
    `filter[metadata.KEY]`; see `pelcro_sync.api.filters`)."""
    params: dict[str, str | int] = {"site_id": site_id, "limit": limit, "page": page}
    if sort:
        params["sort"] = sort
    if filters:
        params.update(filters)
    return params


def check_list_body(body: Mapping[str, Any]) -> None:
    """Raise MalformedBodyError unless `body` is a list envelope (retryable, like a bad read)."""
    if not isinstance(body.get("data"), list):
        raise MalformedBodyError("a list response whose `data` is not an array")


def parse_page(number: int, body: Mapping[str, Any]) -> Page:
    check_list_body(body)
    meta = body.get("meta")
    meta = meta if isinstance(meta, Mapping) else {}
    return Page(
        number=number,
        records=body["data"],
        last_page=_int_or_none(meta.get("last_page")),
        total=_int_or_none(meta.get("total")),
    )


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _is_last(page: Page) -> bool:
    """An empty page ends the scan, as does reaching the last page the server reports."""
    if not page.records:
        return True
    return page.last_page is not None and page.number >= page.last_page


def iter_pages(fetch: FetchPage, *, start_page: int = 1, concurrency: int = 8) -> Iterator[Page]:
    """Yield pages from `start_page` until the last page or an empty one, in page order.

    The first page is read alone to learn `meta.last_page`; then up to `concurrency` pages
    are in flight at once, and only those, so memory stays bounded by the window however
    large the entity. The caller can checkpoint after each page: page N is never yielded
    before page N-1. If the server stops reporting `last_page`, pages go one at a time until
    an empty one. Closing the generator early cancels what is queued.

    How many of the `concurrency` pages are in flight adapts (`_Window`): as many as keep
    the caller from waiting for the API, no more.
    """
    if start_page < 1 or concurrency < 1:
        raise ValueError("start_page and concurrency must be at least 1")
    first = parse_page(start_page, fetch(start_page))
    yield first
    if _is_last(first):
        return
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="pelcro-page")
    pending: deque[tuple[int, Future[Mapping[str, Any]]]] = deque()
    window = _Window(concurrency)
    try:
        next_number, last = start_page + 1, first.last_page
        while True:
            # Without a known last page, look one page ahead only.
            horizon = last if last is not None else next_number
            while len(pending) < window.size and next_number <= horizon:
                pending.append((next_number, pool.submit(fetch, next_number)))
                next_number += 1
            if not pending:
                return
            number, future = pending.popleft()
            window.observe(waited=not future.done(), ahead_done=_all_done(pending))
            page = parse_page(number, future.result())
            yield page
            if _is_last(page):
                return
            # Records may be added mid-scan: the newest report of last_page wins.
            last = page.last_page
    finally:
        for _, future in pending:
            future.cancel()
        # Do not wait for fetches already in flight (they may be sleeping on a rate-limit
        # slot far ahead); their results are dropped and the pool threads then exit.
        pool.shutdown(wait=False, cancel_futures=True)


# Pages in flight at the start of a scan, and never fewer: one being read while the caller
# works on another.
MIN_WINDOW = 2


class _Window:
    """How many pages to keep in flight, between MIN_WINDOW and `limit`.

    One more each time the caller finds its next page not yet read (the API's latency or a
    rate-limit slot is what it waits for, and more in flight hides it); one fewer each time
    every page in flight was already read (the caller is the slower side). More in flight
    than needed is not free: on a sandbox on these two cores, 8 pages in flight instead of
    2 cost a 60,000-record sync 9% more CPU and 6% more time, with nothing read sooner.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = min(limit, MIN_WINDOW)

    def observe(self, *, waited: bool, ahead_done: bool) -> None:
        if waited:
            self.size = min(self.limit, self.size + 1)
        elif ahead_done:
            self.size = max(min(self.limit, MIN_WINDOW), self.size - 1)


def _all_done(pending: deque[tuple[int, Future[Mapping[str, Any]]]]) -> bool:
    return all(future.done() for _, future in pending)
