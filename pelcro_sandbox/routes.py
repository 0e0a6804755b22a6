"""Core API routing: /account, /webhooks, list and get endpoints, authorised and scoped by site.

INFERRED: `GET /sources` is not documented as a list (README §0); `SandboxConfig.
sources_status` makes it answer 404 or 405 as an account without it would. `GET /webhooks`
lists `SandboxConfig.webhook_endpoints` with ids from 1, `site_id` optional (INFERRED: the
endpoints belong to the account, not to a site).
"""

import json
from functools import partial
from typing import Any

import orjson

from pelcro_sandbox import expand
from pelcro_sandbox.auth import check_permission, resolve_site
from pelcro_sandbox.dataset import Dataset
from pelcro_sandbox.errors import NOT_FOUND, ApiError
from pelcro_sandbox.listing import ListQuery, envelope, parse_query, select_page
from pelcro_sandbox.sandbox import MAIN_ACCOUNT, Sandbox
from pelcro_sync.entities import ENTITIES

PREFIX = "/api/v1/core"
LIST_PATHS = {e.path: e.name for e in ENTITIES}


def match(path: str) -> tuple[str, int | None] | None:
    """(entity, id) for a Core path ("account", None for /account); None when unknown."""
    if path in ("/account", "/webhooks"):
        return path[1:], None
    if path in LIST_PATHS:
        return LIST_PATHS[path], None
    parent, _, last = path.rpartition("/")
    if parent in LIST_PATHS and last.isdigit():
        return LIST_PATHS[parent], int(last)
    return None


def core_get(
    sandbox: Sandbox,
    *,
    account_id: int,
    restricted: bool,
    path: str,
    params: dict[str, str],
    base_url: str,
) -> tuple[int, bytes]:
    """Answer one authenticated Core API GET: (status, encoded JSON body)."""
    route = match(path)
    if route is None:
        # INFERRED: Laravel's 404 for an unknown route.
        return 404, dumps({"message": f"The route api/v1/core{path} could not be found."})
    entity, record_id = route
    if entity == "account":  # tiny, and it reports the live rate limit: never cached
        return 200, dumps({"data": sandbox.account_payload(account_id)})
    if entity == "webhooks":
        return 200, dumps({"data": _webhooks(sandbox, account_id)})
    if entity == "sources" and sandbox.config.sources_status != 200:
        status = sandbox.config.sources_status
        text = "Not Found" if status == 404 else "The GET method is not supported for this route."
        raise ApiError(status, {"message": text})
    account = sandbox.accounts[account_id]
    site = resolve_site(params.get("site_id"), account, list(sandbox.accounts.values()))
    check_permission(entity, restricted)
    dataset = sandbox.datasets[account_id]
    if record_id is None:
        query = parse_query(entity, params)
        relations = expand.requested(entity, params)
        if relations:
            with sandbox.stats_lock:
                sandbox.stats.expanded += 1
        render = partial(
            _page, dataset, entity, site, query, f"{base_url}{PREFIX}{path}", relations
        )
    else:
        render = partial(_record, dataset, entity, site, record_id)
    if sandbox.pages is None:
        return 200, render()
    # Everything the body depends on: who asked (as auth resolved it), where links point,
    # what was asked; the dataset version is checked by the cache itself.
    key = (account_id, restricted, base_url, path, tuple(sorted(params.items())))
    return 200, sandbox.pages.fetch(dataset, key, render)


def _record(dataset: Dataset, entity: str, site: int, record_id: int) -> bytes:
    record = dataset.get(entity, site, record_id)
    if record is None:
        raise NOT_FOUND
    return dumps({"data": record, "status": "success"})


def _page(
    dataset: Dataset, entity: str, site: int, query: ListQuery, url: str, relations: list[str]
) -> bytes:
    rows, total = select_page(dataset, entity, site, query)
    if relations:
        rows = expand.apply(dataset, entity, site, rows, relations)
    return dumps(envelope(rows, total=total, page=query.page, limit=query.limit, path_url=url))


def _webhooks(sandbox: Sandbox, account_id: int) -> list[dict[str, Any]]:
    if account_id != MAIN_ACCOUNT:
        return []
    defaults: dict[str, Any] = {
        "description": "",
        "events": [],
        "all_events_enabled": False,
        "status": "enabled",
        "created_at": 1_700_000_000,
        "updated_at": 1_700_000_000,
    }
    return [
        {"id": n, **defaults, **endpoint}
        for n, endpoint in enumerate(sandbox.config.webhook_endpoints, start=1)
    ]


def dumps(payload: Any) -> bytes:
    """JSON as Laravel sends it; a lone surrogate planted by a test goes out escaped
    ("\\ud800"), which orjson cannot write."""
    try:
        return orjson.dumps(payload)
    except TypeError:
        return json.dumps(payload).encode()
