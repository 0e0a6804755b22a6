"""Core API routing: /account, list and get endpoints, authorised and scoped by site."""

from typing import Any

from pelcro_sync.entities import ENTITIES
from pelcro_sync.sandbox.auth import check_permission, resolve_site
from pelcro_sync.sandbox.errors import NOT_FOUND
from pelcro_sync.sandbox.listing import envelope, parse_query, select_page
from pelcro_sync.sandbox.sandbox import Sandbox

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
) -> tuple[int, Any]:
    """Answer one authenticated Core API GET: (status, JSON body)."""
    route = match(path)
    if route is None:
        # INFERRED: Laravel's 404 for an unknown route.
        return 404, {"message": f"The route api/v1/core{path} could not be found."}
    entity, record_id = route
    if entity == "account":
        return 200, {"data": sandbox.account_payload(account_id)}
    account = sandbox.accounts[account_id]
    site = resolve_site(params.get("site_id"), account, list(sandbox.accounts.values()))
    check_permission(entity, restricted)
    dataset = sandbox.datasets[account_id]
    if record_id is not None:
        record = dataset.get(entity, site, record_id)
        if record is None:
            raise NOT_FOUND
        return 200, {"data": record, "status": "success"}
    query = parse_query(entity, params)
    rows, total = select_page(dataset, entity, site, query)
    return 200, envelope(
        rows, total=total, page=query.page, limit=query.limit, path_url=f"{base_url}{PREFIX}{path}"
    )
