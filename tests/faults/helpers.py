"""Shared by the fault tests: a fast client, a sync of several entities, and the proof that
the warehouse equals the sandbox's truth (`assert_converged`), which feeds the tally."""

import time
from collections.abc import Iterable, Sequence
from typing import Any

import httpx
import orjson
from sqlalchemy import Engine, text

from pelcro_sync.api import retry
from pelcro_sync.api.client import PelcroClient
from pelcro_sync.config import Secret, Settings
from pelcro_sync.entities import get_entity
from pelcro_sync.pipeline.sync import EntityResult, sync_entity
from tests.faults import tally
from tests.fixtures.postgres import warehouse_of

# Backoff shrunk a hundredfold: the same decisions, in test time.
FAST_POLICY = retry.RetryPolicy(max_attempts=12, base=0.01, cap=0.05, max_retry_after=10)
# Entities with and without a stable scan order, with one and several pages each.
ENTITIES = ("customers", "subscriptions", "invoices", "charges")


def settings_for(running: Any, **overrides: Any) -> Settings:
    return Settings(api_key=Secret(running.api_key), base_url=running.base_url, **overrides)


def fast_client(running: Any, **kwargs: Any) -> PelcroClient:
    """A client whose retries wait milliseconds; Retry-After waits are capped at 0.2 s."""
    kwargs.setdefault("policy", FAST_POLICY)
    kwargs.setdefault("sleep", lambda s: time.sleep(min(s, 0.2)))
    settings = kwargs.pop("settings", None) or settings_for(running)
    return PelcroClient(settings, **kwargs)


def sync_all(
    client: PelcroClient,
    *,
    engine: Engine,
    schema: str,
    sites: Iterable[int],
    entities: Iterable[str] = ENTITIES,
    **kwargs: Any,
) -> list[EntityResult]:
    """A full (reconcile) sync of every entity on every site, in order."""
    return [
        sync_entity(
            client,
            warehouse=warehouse_of(engine, schema),
            entity=get_entity(name),
            site_id=site,
            mode="full",
            **kwargs,
        )
        for site in sites
        for name in entities
    ]


def live_raw(engine: Engine, schema: str, entity: str, site_id: int) -> dict[int, Any]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                f'SELECT id, _raw FROM "{schema}"."{entity}"'
                " WHERE site_id = :s AND _deleted_at IS NULL"
            ),
            {"s": site_id},
        )
        return {r.id: r._raw for r in rows}


def truth(running: Any, entity: str, site_id: int) -> dict[int, Any]:
    # Through JSON, as it travelled over HTTP.
    return {r["id"]: orjson.loads(orjson.dumps(r)) for r in running.sandbox.truth(entity, site_id)}


def assert_converged(
    engine: Engine, schema: str, running: Any, entities: Sequence[str], sites: Sequence[int]
) -> None:
    """Every live row's `_raw` equals the sandbox's record, per site and entity; nothing is
    missing and nothing deleted in the sandbox is still live. Counts losses in the tally."""
    problems = []
    for site in sites:
        for entity in entities:
            want, got = truth(running, entity, site), live_raw(engine, schema, entity, site)
            lost = [i for i in want if got.get(i) != want[i]]
            extra = sorted(set(got) - set(want))
            tally.record(rows_compared=len(want), rows_lost=len(lost))
            if lost or extra:
                problems.append(f"{entity}@{site}: {len(lost)} lost/stale, {len(extra)} extra")
    assert not problems, "; ".join(problems)


def deleted_ids(engine: Engine, schema: str, entity: str) -> set[int]:
    with engine.connect() as conn:
        query = f'SELECT id FROM "{schema}"."{entity}" WHERE _deleted_at IS NOT NULL'
        rows = conn.execute(text(query))
        return {r.id for r in rows}


class StripRetryAfter(httpx.HTTPTransport):
    """A proxy that drops `Retry-After` from every answer: 429s the client must pace
    itself through, with only its own backoff."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if "retry-after" in response.headers:
            del response.headers["retry-after"]
        return response
