"""The fast path: read newest first and stop at the first page with nothing new or changed.

Only for entities the API can list newest first (`Entity.newest_first`): `-id` catches new
records, `-updated_at` (bills) catches changes too. It leaves the reconcile scan's
checkpoint and seen ids alone: it reads in another order, so its pages say nothing about
where a scan by id stands.
"""

from collections.abc import Callable, Generator
from typing import cast

from pelcro_sync.api.client import PelcroClient
from pelcro_sync.api.pagination import Page
from pelcro_sync.entities import Entity
from pelcro_sync.transform.normalize import NormalizedBatch, normalize
from pelcro_sync.warehouse.upsert import UpsertCounts, upsert_batch
from pelcro_sync.warehouse.warehouse import Warehouse

# (page, its batch, what the upsert did) -> None: the caller's tally.
Tally = Callable[[Page, NormalizedBatch, UpsertCounts], None]


def read_newest(
    client: PelcroClient,
    *,
    warehouse: Warehouse,
    entity: Entity,
    site_id: int,
    tally: Tally,
) -> None:
    """Upsert pages newest first until one holds no new or changed row (or the last)."""
    if entity.newest_first is None:
        raise ValueError(f"{entity.name} cannot be listed newest first")
    # One page at a time: a prefetched page past the stopping point is a wasted request.
    pages = cast(
        Generator[Page, None, None],
        client.iter_pages(entity, site_id=site_id, sort=entity.newest_first, concurrency=1),
    )
    try:
        for page in pages:
            batch = normalize(entity, page.records)
            with warehouse.begin() as conn:
                counts = upsert_batch(
                    conn, warehouse=warehouse, entity=entity, site_id=site_id, batch=batch
                )
            tally(page, batch, counts)
            if counts.written == 0:
                return
    finally:
        pages.close()
