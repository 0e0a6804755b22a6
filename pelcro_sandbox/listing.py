"""List endpoints: page/limit/sort/filter parsing, page selection and the Laravel envelope."""

from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from math import ceil
from typing import Any

from pelcro_sandbox.dataset import Dataset
from pelcro_sandbox.errors import ApiError, validation

# DOCUMENTED sortable attributes (README §8, newest doc version; bills/invoices per entities.md).
SORTABLE: dict[str, set[str]] = {
    "customers": {"id", "email"},
    "invoices": {"id", "status", "created_at"},
    "organizations": {"id", "name", "created_at", "customers_count"},
    "plans": {"id", "nickname"},
    "skus": {"id", "name", "product_id"},
    "bills": {"id", "status", "created_at", "updated_at", "finalized_at", "paid_at"},
    "vendors": {"id", "email", "first_name", "last_name", "created_at"},
    "subscriptions": {"status"},
}
FILTERABLE: dict[str, set[str]] = {
    "customers": {"email", "first_name", "last_name"},
    "invoices": {"id", "status"},
    "memberships": {"user_id", "subscription_id"},
    "skus": {"id", "name", "product_id"},
    "organizations": {"name"},
}
SORT_ALIASES = {"created_at": ("created_at", "created")}  # bills only carry `created`
MAX_LIMIT = 100


@dataclass
class ListQuery:
    page: int = 1
    limit: int = 10
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (attribute, descending)
    filters: dict[str, tuple[str, list[str]]] = field(default_factory=dict)


def _positive_int(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise validation(name, f"The {name} must be an integer.") from None
    if value < 1:
        raise validation(name, f"The {name} must be at least 1.")
    return value


def parse_query(entity: str, params: dict[str, str]) -> ListQuery:
    """Validate list parameters; raise ApiError(400) like Laravel's validator would."""
    query = ListQuery(
        page=_positive_int(params, "page", 1), limit=_positive_int(params, "limit", 10)
    )
    if query.limit > MAX_LIMIT:
        # INFERRED: docs say "up to 100"; we reject rather than clamp (README §7 lets us pick).
        raise validation("limit", f"The limit may not be greater than {MAX_LIMIT}.")
    if params.get("sort"):
        allowed = SORTABLE.get(entity, set())
        for part in params["sort"].split(","):
            name = part.removeprefix("-")
            if name not in allowed:
                # INFERRED: spatie/laravel-query-builder answers a disallowed sort with 400.
                raise ApiError(
                    400,
                    {
                        "message": f"Requested sort(s) `{name}` is not allowed. "
                        f"Allowed sort(s) are `{', '.join(sorted(allowed))}`."
                    },
                )
            query.sort.append((name, part.startswith("-")))
    for key, raw in params.items():
        if key.startswith("filter[") and key.endswith("]"):
            query.filters[key[7:-1]] = _parse_filter(entity, key[7:-1], raw)
    return query


def _parse_filter(entity: str, name: str, raw: str) -> tuple[str, list[str]]:
    allowed = FILTERABLE.get(entity, set())
    if name not in allowed:
        # INFERRED: like a disallowed sort, an unknown filter is a 400 (spatie behaviour).
        raise validation(
            "filter",
            f"Requested filter(s) `{name}` are not allowed. "
            f"Allowed filter(s) are `{', '.join(sorted(allowed))}`.",
        )
    op, sep, value = raw.partition(":")
    if not sep or op not in ("eq", "like", "oreq", "orlike"):
        op, value = "eq", raw
    return op.removeprefix("or"), value.split(",") if op.endswith("eq") else [value]


def _fast_path(dataset: Dataset, entity: str, query: ListQuery) -> bool:
    """Sorts whose order equals id order, so no record needs materialising."""
    if query.filters or len(query.sort) > 1:
        return False
    if not query.sort or query.sort[0][0] == "id":
        return True
    touched = any("created_at" in f for f in dataset.updates[entity].values())
    return query.sort[0][0] == "created_at" and not touched


def select_page(
    dataset: Dataset, entity: str, site: int, query: ListQuery
) -> tuple[list[dict[str, Any]], int]:
    """One page of records and the total, as the list endpoint serves them now."""
    offset = (query.page - 1) * query.limit
    if _fast_path(dataset, entity, query):
        descending = bool(query.sort) and query.sort[0][1]
        with dataset.lock:
            total = dataset.count(entity, site)
            idx = dataset.indexes(entity, site, offset, query.limit, descending=descending)
            return [dataset.record(entity, i) for i in idx], total
    # Slow path: materialise the site's records (fine for catalogue-sized entities).
    with dataset.lock:
        rows = [r for r in dataset.iter_records(entity, site) if _matches(r, query.filters)]
    for name, descending in reversed(query.sort):
        rows.sort(key=partial(_sort_key, name=name), reverse=descending)
    return rows[offset : offset + query.limit], len(rows)


def _matches(record: dict[str, Any], filters: dict[str, tuple[str, list[str]]]) -> bool:
    for name, (op, values) in filters.items():
        actual = "" if record.get(name) is None else str(record[name])
        if op == "like":
            if values[0].lower() not in actual.lower():
                return False
        elif actual not in values:
            return False
    return True


def _sort_key(record: dict[str, Any], name: str) -> tuple[int, Any]:
    value = next((record[k] for k in SORT_ALIASES.get(name, (name,)) if k in record), None)
    if isinstance(value, str) and value[:4].isdigit() and value.endswith("Z"):
        value = int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    if value is None:
        return (0, 0)  # NULLs first ascending, like MySQL
    return (2, str(value)) if isinstance(value, str) else (1, value)


def envelope(
    data: list[dict[str, Any]], *, total: int, page: int, limit: int, path_url: str
) -> dict[str, Any]:
    """Laravel's LengthAwarePaginator resource: data, links, meta (README §6.2)."""
    last = max(1, ceil(total / limit))
    start = (page - 1) * limit
    url = lambda n: f"{path_url}?page={n}"  # noqa: E731 - links carry only ?page=N
    links = [{"url": url(page - 1) if page > 1 else None, "label": "« Previous", "active": False}]
    for item in _window(page, last):
        if item is None:
            links.append({"url": None, "label": "...", "active": False})
        else:
            links.append({"url": url(item), "label": str(item), "active": item == page})
    links.append(
        {"url": url(page + 1) if page < last else None, "label": "Next »", "active": False}
    )
    return {
        "data": data,
        "links": {
            "first": url(1),
            "last": url(last),
            "prev": url(page - 1) if page > 1 else None,
            "next": url(page + 1) if page < last else None,
        },
        "meta": {
            "current_page": page,
            "from": start + 1 if data else None,
            "last_page": last,
            "links": links,
            "path": path_url,
            "per_page": limit,
            "to": start + len(data) if data else None,
            "total": total,
        },
    }


def _window(page: int, last: int, each_side: int = 3) -> list[int | None]:
    """Laravel's UrlWindow: every page when few, else first/last two around a slider.

    INFERRED: the docs show only a 2-page example; this is Laravel's default behaviour.
    """
    if last < each_side * 2 + 8:
        return list(range(1, last + 1))
    window = each_side + 4
    start, finish = [1, 2], [last - 1, last]
    if page <= window:
        return [*range(1, window + each_side + 1), None, *finish]
    if page > last - window:
        return [*start, None, *range(last - (window + each_side - 1), last + 1)]
    return [*start, None, *range(page - each_side, page + each_side + 1), None, *finish]
