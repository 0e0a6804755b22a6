"""Pelcro event envelopes: parsing, and which entity table and sites an event concerns."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

# Event type prefix -> warehouse table. Appendix A documents customer, subscription,
# invoice, charge, source, plan, member, bill and vendor events; the rest are INFERRED from
# the resource names and cost nothing when Pelcro never sends them.
ENTITY_BY_PREFIX: dict[str, str] = {
    "customer": "customers",
    "subscription": "subscriptions",
    "invoice": "invoices",
    "charge": "charges",
    "source": "sources",
    "plan": "plans",
    "member": "memberships",
    "membership": "memberships",
    "bill": "bills",
    "vendor": "vendors",
    "address": "addresses",
    "product": "products",
    "ecommerce_product": "ecommerce_products",
    "sku": "skus",
    "order": "orders",
    "refund": "refunds",
    "coupon": "coupons",
    "newsletter": "newsletters",
    "organization": "organizations",
}


class EnvelopeError(ValueError):
    """The body is not a Pelcro event envelope; the message is safe to send back."""


@dataclass(frozen=True)
class Event:
    """What the events table keeps about one delivery, besides the payload itself."""

    event_id: str
    type: str
    created: float | None
    payload: dict[str, Any]

    @property
    def created_at(self) -> datetime | None:
        return None if self.created is None else datetime.fromtimestamp(self.created, UTC)

    @property
    def object(self) -> dict[str, Any]:
        data = self.payload.get("data")
        obj = data.get("object") if isinstance(data, dict) else None
        return obj if isinstance(obj, dict) else {}

    @property
    def entity(self) -> str | None:
        return entity_of(self.type)

    @property
    def object_id(self) -> int | None:
        return as_int(self.object.get("id"))

    @property
    def site_ids(self) -> list[int]:
        return sites_of(self.object)

    @property
    def is_deletion(self) -> bool:
        return self.type.endswith(".deleted")


def parse_envelope(body: bytes) -> Event:
    """The event in `body`: a JSON object with string `id` and `type`; `created` optional."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise EnvelopeError("body is not JSON") from None
    if not isinstance(payload, dict):
        raise EnvelopeError("body is not a JSON object")
    event_id, kind = payload.get("id"), payload.get("type")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255:
        raise EnvelopeError("envelope has no string `id`")
    if not isinstance(kind, str) or not kind or len(kind) > 255:
        raise EnvelopeError("envelope has no string `type`")
    created = payload.get("created")
    ok = isinstance(created, int | float) and not isinstance(created, bool)
    return Event(event_id, kind, float(created) if ok else None, payload)  # type: ignore[arg-type]


def entity_of(event_type: str) -> str | None:
    """The entity table an event type concerns, or None (export.*, unknown families)."""
    return ENTITY_BY_PREFIX.get(event_type.split(".", 1)[0])


def sites_of(obj: dict[str, Any]) -> list[int]:
    """The sites an object belongs to: its `site_id`, else every one of its `site_ids`."""
    single = as_int(obj.get("site_id"))
    if single is not None:
        return [single]
    many = obj.get("site_ids")
    if isinstance(many, list):
        return list(dict.fromkeys(s for s in map(as_int, many) if s is not None))
    return []


def as_int(value: Any) -> int | None:
    """An integer id from an int or a digit string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
