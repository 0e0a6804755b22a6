"""Prototype for a `sync.py` proposal: N pages per transaction instead of one.

Reads the same pages with the same client and writes them with the same `normalize` and
`upsert_batch`, committing every `pages_per_tx` pages (1 = today's shape, minus the
checkpoint and delete detection, so the two rows differ only in batching).
"""

import time
from typing import Any

from pelcro_sync.config import Secret, Settings


def scan_child(base_url: str, api_key: str, site: int, url: str, entities: list[str],
               pages_per_tx: int) -> dict[str, Any]:  # fmt: skip
    from concurrent.futures import ThreadPoolExecutor

    from bench.e2e import SCHEMA
    from pelcro_sync.client import PelcroClient
    from pelcro_sync.entities import get_entity
    from pelcro_sync.normalize import normalize
    from pelcro_sync.warehouse.engine import make_engine
    from pelcro_sync.warehouse.upsert import upsert_batch

    engine = make_engine(url)
    settings = Settings(api_key=Secret(api_key), base_url=base_url, rate_limit=1_000_000)

    def one(name: str) -> int:
        entity, n = get_entity(name), 0
        with PelcroClient(settings) as client:
            buffer: list[dict[str, Any]] = []
            for pages, page in enumerate(client.iter_pages(entity, site_id=site), 1):
                buffer += page.records
                if pages % pages_per_tx == 0:
                    n += _write(engine, entity, site, buffer, normalize, upsert_batch, SCHEMA)
                    buffer = []
            if buffer:
                n += _write(engine, entity, site, buffer, normalize, upsert_batch, SCHEMA)
        return n

    start = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        records = sum(pool.map(one, entities))
    elapsed = time.perf_counter() - start
    engine.dispose()
    return {"records": records, "elapsed": elapsed}


def _write(engine: Any, entity: Any, site: int, records: list, normalize: Any, upsert: Any,
           schema: str) -> int:  # fmt: skip
    batch = normalize(entity, records)
    with engine.begin() as conn:
        upsert(conn, entity=entity, site_id=site, batch=batch, schema=schema)
    return len(records)
