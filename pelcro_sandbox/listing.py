"""List endpoints: page/limit/sort/filter parsing, page selection and the Laravel envelope.

Filters (README §0, §8): `filter[ATTR]=OP:VALUE` with eq/like and their OR-combined forms
oreq/orlike; on customers and invoices `filter[metadata.KEY]=VALUE` and
`filter[metadata]=has:KEY` (or `orhas:KEY`); on subscriptions the list page's own
`status` (comma-separated) and customer filters, DOCUMENTED.
INFERRED choices, each marked where it is made below:
- the subscription filters' parameter names, `status` and `customer_id`;
- how or* filters combine with the others: a record must match every plain filter and,
  when there are or* filters, at least one of them;
- a metadata value matches as text (`filter[metadata.n]=1` matches 1 and "1");
- an attribute the docs do not list as filterable or sortable is a 400 (spatie style).
"""

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
    "customers": {"email", "first_name", "last_name", "metadata", "metadata.*"},
    "invoices": {"id", "status", "metadata", "metadata.*"},
    "memberships": {"user_id", "subscription_id"},
    "skus": {"id", "name", "product_id"},
    "organizations": {"name"},
}
SORT_ALIASES = {"created_at": ("created_at", "created")}  # bills only carry `created`
MAX_LIMIT = 100


# INFERRED names of the List subscriptions page's filters: (query parameter, record field).
PLAIN_FILTERS: dict[str, dict[str, str]] = {
    "subscriptions": {"status": "status", "customer_id": "user_id"},
}


@dataclass(frozen=True)
class Filter:
    field: str  # a record field, "metadata" (has) or "metadata.KEY"
    op: str  # eq, like, has
    values: tuple[str, ...]
    either: bool = False  # an or* operator


@dataclass
class ListQuery:
    page: int = 1
    limit: int = 10
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (attribute, descending)
    filters: list[Filter] = field(default_factory=list)


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
            query.filters.append(_parse_filter(entity, key[7:-1], raw))
        elif key in PLAIN_FILTERS.get(entity, {}) and raw != "":
            values = tuple(v.strip() for v in raw.split(",") if v.strip())
            query.filters.append(Filter(PLAIN_FILTERS[entity][key], "eq", values))
    return query


def _parse_filter(entity: str, name: str, raw: str) -> Filter:
    allowed = FILTERABLE.get(entity, set())
    pattern = "metadata.*" if name.startswith("metadata.") and len(name) > 9 else name
    if pattern not in allowed:
        # INFERRED: like a disallowed sort, an unknown filter is a 400 (spatie behaviour).
        raise validation(
            "filter",
            f"Requested filter(s) `{name}` are not allowed. "
            f"Allowed filter(s) are `{', '.join(sorted(allowed))}`.",
        )
    op, sep, value = raw.partition(":")
    if not sep or op not in ("eq", "like", "has", "oreq", "orlike", "orhas"):
        op, value = "eq", raw
    base = op.removeprefix("or")
    if (name == "metadata") != (base == "has"):
        raise validation("filter", f"`has` goes with filter[metadata] only, not `{name}`.")
    values = tuple(value.split(",")) if base == "eq" else (value,)
    return Filter(name, base, values, either=op.startswith("or"))


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


def _matches(record: dict[str, Any], filters: list[Filter]) -> bool:
    """Every plain filter, and one of the or* filters when there are any (INFERRED)."""
    either = [f for f in filters if f.either]
    return all(_match(record, f) for f in filters if not f.either) and (
        not either or any(_match(record, f) for f in either)
    )


def _match(record: dict[str, Any], flt: Filter) -> bool:
    metadata = record.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    if flt.op == "has":
        return flt.values[0] in metadata
    if flt.field.startswith("metadata."):
        value = metadata.get(flt.field[9:])
    else:
        value = record.get(flt.field)
    actual = "" if value is None else str(value)
    if flt.op == "like":
        return flt.values[0].lower() in actual.lower()
    return actual in flt.values


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
