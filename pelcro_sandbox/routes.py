"""Core API routing: /account, list and get endpoints, authorised and scoped by site."""

import json
from functools import partial
from typing import Any

import orjson

from pelcro_sandbox.auth import check_permission, resolve_site
from pelcro_sandbox.dataset import Dataset
from pelcro_sandbox.errors import NOT_FOUND
from pelcro_sandbox.listing import ListQuery, envelope, parse_query, select_page
from pelcro_sandbox.sandbox import Sandbox
from pelcro_sync.entities import ENTITIES

PREFIX = "/api/v1/core"
LIST_PATHS = {e.path: e.name for e in ENTITIES}


def match(path: str) -> tuple[str, int | None] | None:
    """(entity, id) for a Core path ("account", None for /account); None when unknown."""
    if path == "/account":
        return "account", None
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
    account = sandbox.accounts[account_id]
    site = resolve_site(params.get("site_id"), account, list(sandbox.accounts.values()))
    check_permission(entity, restricted)
    dataset = sandbox.datasets[account_id]
    if record_id is None:
        query = parse_query(entity, params)
        render = partial(_page, dataset, entity, site, query, f"{base_url}{PREFIX}{path}")
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


def _page(dataset: Dataset, entity: str, site: int, query: ListQuery, url: str) -> bytes:
    rows, total = select_page(dataset, entity, site, query)
    return dumps(envelope(rows, total=total, page=query.page, limit=query.limit, path_url=url))


def dumps(payload: Any) -> bytes:
    """JSON as Laravel sends it; a lone surrogate planted by a test goes out escaped
    ("\\ud800"), which orjson cannot write."""
    try:
        return orjson.dumps(payload)
    except TypeError:
        return json.dumps(payload).encode()
