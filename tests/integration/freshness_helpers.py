"""Helpers shared by the freshness tests (reconcile, fast path, resume, no overlap)."""

from typing import Any

import orjson
from sqlalchemy import Engine, text

from pelcro_sync.api.client import PelcroClient
from pelcro_sync.config import Secret, Settings
from pelcro_sync.entities import get_entity
from pelcro_sync.pipeline.sync import EntityResult, sync_entity
from tests.fixtures.postgres import warehouse_of


def settings_for(running: Any) -> Settings:
    return Settings(api_key=Secret(running.api_key), base_url=running.base_url)


def rows(engine: Engine, schema: str, entity: str, site_id: int) -> dict[int, dict[str, Any]]:
    """id -> {raw, synced_at, deleted_at} of every row of one site's entity."""
    with engine.connect() as conn:
        found = conn.execute(
            text(
                f'SELECT id, _raw, _synced_at, _deleted_at FROM "{schema}"."{entity}"'
                " WHERE site_id = :s"
            ),
            {"s": site_id},
        )
        return {
            r.id: {"raw": r._raw, "synced_at": r._synced_at, "deleted_at": r._deleted_at}
            for r in found
        }


def live(engine: Engine, schema: str, entity: str, site_id: int) -> dict[int, dict[str, Any]]:
    return {
        i: r["raw"] for i, r in rows(engine, schema, entity, site_id).items() if not r["deleted_at"]
    }


def truth(running: Any, entity: str, site_id: int) -> dict[int, dict[str, Any]]:
    # Round-trip through JSON so the comparison sees what travelled over HTTP.
    return {r["id"]: orjson.loads(orjson.dumps(r)) for r in running.sandbox.truth(entity, site_id)}


def sync(
    running: Any,
    engine: Engine,
    schema: str,
    entity: str,
    *,
    concurrency: int = 8,
    full: bool = False,
    **kwargs: Any,
) -> EntityResult:
    """One sync_entity of the first site through a fresh client; `full=True` says
    mode="full" (sync_entity's default) where a test wants it said."""
    if full:
        kwargs["mode"] = "full"
    with PelcroClient(settings_for(running), concurrency=concurrency) as client:
        return sync_entity(
            client,
            warehouse=warehouse_of(engine, schema),
            entity=get_entity(entity),
            site_id=running.site_ids[0],
            **kwargs,
        )
