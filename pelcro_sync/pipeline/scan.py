"""A reconcile scan's pages: read in order, normalized and written a batch at a time.

Each batch (`pelcro_sync.pipeline.batching`) commits in one transaction with the scan's checkpoint
and the ids it saw (`pelcro_sync.pipeline.reconcile`), so a run killed at any point leaves the
warehouse consistent and the next run resumes after the last committed page. A re-scan
types and merges only the records whose hash differs from the stored one
(`pelcro_sync.pipeline.unchanged`); the others are only noted as seen.
"""

import threading
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import pandas as pd
from sqlalchemy import Connection

from pelcro_sync.api.client import PelcroClient
from pelcro_sync.api.pagination import Page
from pelcro_sync.entities import Entity
from pelcro_sync.errors import TimeLimitReached
from pelcro_sync.pipeline import batching, unchanged
from pelcro_sync.pipeline.result import EntityResult, ProgressCallback
from pelcro_sync.transform.normalize import NormalizedBatch, normalize
from pelcro_sync.warehouse import encode, first_load, state, tombstones
from pelcro_sync.warehouse.upsert import UpsertCounts, merge_encoded
from pelcro_sync.warehouse.warehouse import Warehouse

# Transactions a scan keeps in flight (`pelcro_sync.pipeline.batching`), each on its own connection.
SCAN_WRITERS = 2


def full_scan(
    client: PelcroClient,
    *,
    warehouse: Warehouse,
    entity: Entity,
    site_id: int,
    start_page: int,
    result: EntityResult,
    on_page: ProgressCallback | None,
    started_at: datetime | None,
) -> datetime | None:
    """Read every page from `start_page`, committed a batch of pages at a time; when the
    scan started: as its checkpoints return it, else (it wrote nothing) `started_at`, the
    state row's before this run (None: the scan saw nothing). A scan the client's time
    limit stops sets `result.stopped_at_page` and is not complete."""
    last_page: Page | None = None
    # Set unless the site has no rows yet, or once a first load's batch finds its keys
    # there after all: from then on the scan merges.
    merge_only = threading.Event()
    clock = _Clock(started_at)
    with ExitStack() as stack:
        checker = _checker(stack, warehouse=warehouse, entity=entity, site_id=site_id)
        if checker is not None:
            merge_only.set()
        # Each writer thread has a connection of its own for the whole scan: a checkout per
        # batch would add the pool's ping and reset, two round trips, to every transaction.
        connections = [stack.enter_context(warehouse.connect()) for _ in range(SCAN_WRITERS)]
        writes = [
            _scan_writer(
                c,
                warehouse=warehouse,
                entity=entity,
                result=result,
                merge_only=merge_only,
                clock=clock,
            )
            for c in connections
        ]
        writer = stack.enter_context(
            batching.PageWriter(
                writes,
                prepare=partial(_prepare, entity, site_id, merge_only, checker),
                conflicts=_conflicts,
            )
        )
        try:
            for page in client.iter_pages(entity, site_id=site_id, start_page=start_page):
                result.add_read(page)
                writer.put(page)  # before the callback: a page it has seen gets committed
                last_page = page
                if on_page is not None:
                    on_page(result, page)
        except TimeLimitReached:
            # `--time-limit`: the pages read are committed with their checkpoint as the
            # writer closes, and the next run resumes after them.
            result.stopped_at_page = last_page.number + 1 if last_page else start_page
    if result.stopped_at_page is not None:
        return clock.started_at
    with warehouse.begin() as conn:
        state.complete_scan(
            conn,
            warehouse=warehouse,
            site_id=site_id,
            entity=entity,
            total=last_page.total if last_page else 0,
        )
    return clock.started_at


def _checker(
    stack: ExitStack, *, warehouse: Warehouse, entity: Entity, site_id: int
) -> unchanged.Checker | None:
    """None for a first load (the site has no row yet), else what tells the records a
    re-scan need not type nor merge (`pelcro_sync.pipeline.unchanged`), on a connection
    of its own for the scan."""
    conn = stack.enter_context(warehouse.connect())
    with conn.begin():
        empty = first_load.site_is_empty(conn, warehouse=warehouse, entity=entity, site_id=site_id)
    if empty:
        conn.close()
        return None
    return unchanged.Checker(conn, warehouse, entity, site_id)


@dataclass
class _Clock:
    """When the scan started, as the last checkpoint returned it (all of a scan's agree)."""

    started_at: datetime | None


@dataclass(frozen=True)
class _Batch:
    """Pages typed and encoded for their COPY (`warehouse.encode`): for the entity's table
    while this is a first load, else for the merge's staging table; `unchanged`, the ids
    of the records left out, already stored as they are."""

    pages: list[Page]
    normalized: NormalizedBatch
    encoded: encode.Encoded
    ids: frozenset[int]
    unchanged: list[int]


def _prepare(
    entity: Entity,
    site_id: int,
    merge_only: threading.Event,
    checker: unchanged.Checker | None,
    pages: list[Page],
) -> _Batch:
    # One frame for the batch: far cheaper per record than a frame per page. Encoded here,
    # on the prepare thread, so that a transaction only sends bytes: it holds its locks
    # (and the next batch's turn) for less time.
    records = [r for page in pages for r in page.records]
    split = checker.split(records) if checker else unchanged.Split(records, [])
    if not split.changed:  # nothing to type: an unchanged re-scan's usual batch
        return _Batch(pages, _NOTHING, encode.Encoded(b"", 0), frozenset(split.unchanged),
                      split.unchanged)  # fmt: skip
    batch = normalize(entity, split.changed)
    encoded = (
        encode.for_stage(entity, batch.frame)
        if merge_only.is_set()
        else encode.for_table(entity, site_id, batch.frame)
    )
    ids = frozenset(batch.frame["id"].tolist()).union(split.unchanged)
    return _Batch(pages, batch, encoded, ids, split.unchanged)


_NOTHING = NormalizedBatch(frame=pd.DataFrame())  # read-only: `add_written` reads its counts


def _conflicts(earlier: _Batch, later: _Batch) -> bool:
    """Whether `later` must wait for `earlier` to commit before it starts: they share a
    row, or `earlier` opens a new scan (it empties `_scan_seen`, where `later` writes)."""
    return earlier.pages[0].number == 1 or not earlier.ids.isdisjoint(later.ids)


def _scan_writer(
    conn: Connection,
    *,
    warehouse: Warehouse,
    entity: Entity,
    result: EntityResult,
    merge_only: threading.Event,
    clock: _Clock,
) -> batching.Write:
    """Write consecutive pages as one batch, with the ids seen and the checkpoint after
    the last of them, in one transaction: all or none, so a killed scan resumes there.

    Until `merge_only` is set (a first load: the site had no rows when the scan began),
    a batch goes straight into the table (`first_load`), and is merged only if one of
    its keys turns out to be there."""
    site_id = result.site_id

    def write(prepared: _Batch, turn: batching.Turn) -> None:
        pages, batch, encoded = prepared.pages, prepared.normalized, prepared.encoded
        with conn.begin():
            if pages[0].number == 1:
                tombstones.clear_seen(conn, warehouse=warehouse, site_id=site_id, entity=entity)
            if prepared.unchanged:
                tombstones.add_seen(conn, warehouse=warehouse, site_id=site_id, entity=entity,
                                    ids=prepared.unchanged)  # fmt: skip
            counts = None
            if encoded.into_table and not merge_only.is_set():
                counts = first_load.insert_encoded(
                    conn, warehouse=warehouse, entity=entity, encoded=encoded
                )
                if counts is None:
                    merge_only.set()
            if counts is None:
                if encoded.into_table:  # rare: a key was there after all
                    encoded = encode.for_stage(entity, batch.frame)
                counts = merge_encoded(
                    conn,
                    warehouse=warehouse,
                    entity=entity,
                    site_id=site_id,
                    encoded=encoded,
                    track_seen=True,
                )
            if prepared.unchanged:
                counts = UpsertCounts(counts.inserted, counts.updated,
                                      counts.unchanged + len(prepared.unchanged))  # fmt: skip
            turn.wait()  # the checkpoint moves past committed pages only
            clock.started_at = state.save_progress(
                conn,
                warehouse=warehouse,
                site_id=site_id,
                entity=entity,
                run_id=result.run_id,
                next_page=pages[-1].number + 1,
                sort=entity.scan_sort or "",
                max_id=max(prepared.ids, default=None),
            )
        result.add_written(batch, counts)  # still this batch's turn: no other thread adds

    return write
