"""Documented list filters as query parameters: subscriptions by status or customer, metadata.

DOCUMENTED (../shared/pelcro-api/README.md §0): the List subscriptions page has a
comma-separated status filter and a customer filter; customers and invoices take
`filter[metadata.KEY]=VALUE` and `filter[metadata]=has:KEY`, and the `or*` operators
OR-combine. INFERRED: the subscription filters' parameter names, `status` and
`customer_id` (the page gives their meaning; Laravel names them after the field).
"""

from collections.abc import Iterable

# DOCUMENTED: the list page's allowed values; any other status is kept as text.
SUBSCRIPTION_STATUSES = (
    "active",
    "canceled",
    "past_due",
    "trialing",
    "unpaid",
    "incomplete",
    "incomplete_expired",
    "extended",
)
# Statuses a subscription can leave on its own (renewal, failed payment, period end): the
# ones a freshness pass has to re-read. canceled, incomplete_expired (and the object
# page's expired) are final.
LIVE_SUBSCRIPTION_STATUSES = ("active", "trialing", "past_due", "unpaid", "incomplete", "extended")


def subscriptions(*, status: Iterable[str] = (), customer_id: int | None = None) -> dict[str, str]:
    """Query parameters of GET /subscriptions restricted to `status` values and a customer."""
    params: dict[str, str] = {}
    wanted = [s.strip() for s in status if s.strip()]
    if wanted:
        params["status"] = ",".join(dict.fromkeys(wanted))
    if customer_id is not None:
        params["customer_id"] = str(int(customer_id))
    return params


def metadata_equals(key: str, value: str, *, either: bool = False) -> dict[str, str]:
    """`filter[metadata.KEY]=eq:VALUE` (`oreq` with `either`: OR-combined with other or*)."""
    return {f"filter[metadata.{_key(key)}]": f"{'oreq' if either else 'eq'}:{value}"}


def metadata_has(key: str, *, either: bool = False) -> dict[str, str]:
    """`filter[metadata]=has:KEY`: records whose metadata holds KEY at the top level."""
    return {"filter[metadata]": f"{'orhas' if either else 'has'}:{_key(key)}"}


def _key(key: str) -> str:
    if not key or any(ch in key for ch in "[]&=#"):
        raise ValueError(f"a metadata filter needs a plain key, not {key!r}")
    return key
