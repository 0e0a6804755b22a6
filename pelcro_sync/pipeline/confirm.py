"""Delete candidates of entities with no GET by id, confirmed by re-reading the list where
each would sit in id order (organizations, vendors: their scans sort by id).

A page is one consistent moment of the list: if its ids ascend and a candidate lies
strictly between two of them (or before the first of page 1, or after the last of the
last page) but is not there, it was not in the list then: deleted. If it is there, it is
live (a record that slid into a page already read while the scan ran). The page to read
comes from the candidate's rank among the live rows; when a candidate falls exactly
between two pages, a page size one smaller puts both neighbours on one page.

The same proof holds for every live row in a page's range: a record deleted on a page the
scan had already read (the delete that made another record slide back into that page) is
found gone by the re-read too, in the same run.
"""

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from pelcro_sync.api.client import PelcroClient
from pelcro_sync.api.pagination import PAGE_SIZE, Page
from pelcro_sync.entities import Entity

# Reads spent on one candidate before it is left to the second-scan rule: its page, a
# neighbour when the estimate was off, one with another page size at a boundary.
MAX_READS_PER_CANDIDATE = 4


class OutOfOrder(Exception):
    """A re-read page's ids do not ascend: the list is not in id order."""


@dataclass
class PageCheck:
    """What re-reading decided: ids gone, records still listed, ids left undecided."""

    gone: list[int] = field(default_factory=list)
    back: list[dict[str, Any]] = field(default_factory=list)
    undecided: list[int] = field(default_factory=list)
    reads: int = 0
    spans: list["Span"] = field(default_factory=list)  # what each page read covered


@dataclass(frozen=True)
class Span:
    """The id range one page read covered (None: unbounded), and the ids it held: a live
    row in that range and not among them was not in the list when the page was read."""

    low: int | None
    high: int | None
    ids: list[int]


@dataclass(frozen=True)
class _Seen:
    ids: list[int]
    records: dict[int, dict[str, Any]]
    first: bool  # page 1: nothing precedes it
    last: bool  # the last page then: nothing follows it


class _Reader:
    """Pages read by (limit, number), each once, within a budget of requests."""

    def __init__(self, client: PelcroClient, *, entity: Entity, site_id: int, budget: int):
        self.client, self.entity, self.site_id, self.budget = client, entity, site_id, budget
        self.pages: dict[tuple[int, int], _Seen] = {}

    def read(self, number: int, limit: int) -> _Seen | None:
        """The page (None once the budget is spent). Raises OutOfOrder."""
        if (limit, number) in self.pages:
            return self.pages[(limit, number)]
        if self.budget <= 0:
            return None
        self.budget -= 1
        pages = self.client.iter_pages(
            self.entity, site_id=self.site_id, start_page=number, limit=limit, concurrency=1
        )
        try:
            page: Page = next(iter(pages))
        finally:
            getattr(pages, "close", lambda: None)()
        raw: list[Any] = [r.get("id") for r in page.records]
        if not all(type(i) is int for i in raw):
            # A record without a usable id has no place in id order: this page cannot tell
            # where a candidate would sit, so the candidates fall back to a second scan.
            raise OutOfOrder(f"page {number} of {self.entity.name} holds an unusable id")
        ids = [int(i) for i in raw]
        if any(a >= b for a, b in pairwise(ids)):
            raise OutOfOrder(f"page {number} of {self.entity.name} is not in id order")
        last = len(ids) < limit or (page.last_page is not None and number >= page.last_page)
        seen = _Seen(ids, dict(zip(ids, page.records, strict=True)), number == 1, last)
        self.pages[(limit, number)] = seen
        return seen


def _verdict(candidate: int, seen: _Seen) -> str | None:
    """ "back", "gone", or None when this page cannot tell."""
    if candidate in seen.records:
        return "back"
    if not seen.ids:
        return "gone" if seen.first else None  # page 1 empty: the list is
    below, above = candidate < seen.ids[0], candidate > seen.ids[-1]
    if (not below and not above) or (below and seen.first) or (above and seen.last):
        return "gone"
    return None


def confirm_by_pages(
    client: PelcroClient,
    *,
    entity: Entity,
    site_id: int,
    ranked: list[tuple[int, int]],
    max_reads: int,
) -> PageCheck:
    """Decide each (candidate id, live rows with a smaller id) by re-reading list pages, at
    most `max_reads` of them. Raises OutOfOrder when a page is not in id order."""
    reader = _Reader(client, entity=entity, site_id=site_id, budget=max_reads)
    check = PageCheck()
    for candidate, rank in ranked:
        verdict = _decide(reader, candidate, rank)
        if verdict == "gone":
            check.gone.append(candidate)
        elif verdict == "back":
            record = next(
                p.records[candidate] for p in reader.pages.values() if candidate in p.records
            )
            check.back.append(record)
        else:
            check.undecided.append(candidate)
    check.reads = max_reads - reader.budget
    check.spans = [_span(seen) for seen in reader.pages.values() if seen.ids]
    return check


def _span(seen: _Seen) -> Span:
    return Span(
        low=None if seen.first else seen.ids[0],
        high=None if seen.last else seen.ids[-1],
        ids=seen.ids,
    )


def _decide(reader: _Reader, candidate: int, rank: int) -> str | None:
    """Pages already read first, then the page the rank points to and its neighbours."""
    for cached in reader.pages.values():
        if verdict := _verdict(candidate, cached):
            return verdict
    number, limit = rank // PAGE_SIZE + 1, PAGE_SIZE
    below: int | None = None  # a page (of this limit) whose ids all lie below the candidate
    for _ in range(MAX_READS_PER_CANDIDATE):
        seen = reader.read(number, limit)
        if seen is None:
            return None
        if verdict := _verdict(candidate, seen):
            return verdict
        if seen.ids and candidate > seen.ids[-1]:
            below, number = number, number + 1
        elif below is not None and below == number - 1:
            # Between page `below` and this one: one page of another size spans both.
            size, spanning = _spanning(boundary=below * limit, limit=limit)
            span = reader.read(spanning, size)
            return _verdict(candidate, span) if span is not None else None
        else:
            number = max(1, number - 1)
    return None


def _spanning(*, boundary: int, limit: int) -> tuple[int, int]:
    """(limit, page) of a smaller page size on which positions boundary-1 and boundary
    (0-based) are one page."""
    size = limit - 1
    while size > 1 and boundary % size == 0:
        size -= 1
    return size, boundary // size + 1
