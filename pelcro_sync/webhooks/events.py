"""Pelcro event envelopes: parsing, and which entity table and sites an event concerns."""

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pelcro_sync.transform.normalize import INT64_MAX, MAX_SECONDS, MIN_SECONDS, sanitize

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
# Pelcro's envelopes nest a few levels; a deeper body is no event, and the bound keeps every
# recursive step after parsing (the text policy, the JSON encoder, Postgres) within limits.
MAX_DEPTH = 100
# ASCII digits only: `str.isdigit` also takes "²", which int() refuses.
_DIGITS = re.compile(r"[0-9]{1,19}")


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
    """The event in `body`: a JSON object with string `id` and `type`; `created` optional.

    Strings follow the REST path's text policy (`normalize.sanitize`: NUL and lone
    surrogates kept as visible escapes), so whatever is accepted here can be stored.
    `created`, when present and not null, must be unix seconds of a year 1..9999; when
    absent or null the event is kept and ordered by its arrival time (the body is signed,
    so only Pelcro could have left it out), and the staleness check cannot apply to it.
    """
    payload = _load(body)
    if not isinstance(payload, dict):
        raise EnvelopeError("body is not a JSON object")
    if b"\\u" in body:  # NUL and lone surrogates can only arrive as \u escapes
        payload = sanitize(payload)
    event_id, kind = payload.get("id"), payload.get("type")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255:
        raise EnvelopeError("envelope has no string `id` (1 to 255 characters)")
    if not isinstance(kind, str) or not kind or len(kind) > 255:
        raise EnvelopeError("envelope has no string `type` (1 to 255 characters)")
    return Event(event_id, kind, _created(payload.get("created")), payload)


def _load(body: bytes) -> Any:
    """JSON through the standard library: exact integers beyond 64 bits and lone surrogates
    (orjson turns the first into floats and refuses the second); no NaN or Infinity."""
    try:
        payload = json.loads(body.decode("utf-8"), parse_float=_finite, parse_constant=_finite)
    except RecursionError:
        raise EnvelopeError(f"body nests deeper than {MAX_DEPTH} levels") from None
    except UnicodeDecodeError:
        raise EnvelopeError("body is not JSON: not UTF-8") from None
    except ValueError as exc:
        raise EnvelopeError(f"body is not JSON: {str(exc)[:80]}") from None
    if _depth(payload) > MAX_DEPTH:
        raise EnvelopeError(f"body nests deeper than {MAX_DEPTH} levels")
    return payload


def _finite(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")) or number != number:
        raise ValueError(f"number {text[:20]} is not finite")
    return number


def _depth(value: Any) -> int:
    """How deeply `value` nests, walked without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _created(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EnvelopeError("`created` must be unix seconds (a number)")
    if not MIN_SECONDS <= value < MAX_SECONDS:
        raise EnvelopeError("created out of range: unix seconds of the years 1 to 9999 expected")
    return float(value)


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
    """An id that fits the bigint columns, from an int or an ASCII digit string; None otherwise
    (stored as NULL, like any unusable id: the event is kept, never refused for it)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        value = int(value)
    if isinstance(value, int) and -INT64_MAX - 1 <= value <= INT64_MAX:
        return value
    return None
