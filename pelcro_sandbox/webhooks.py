"""Signed Pelcro-shaped webhooks for the sandbox's mutations: in order, shuffled, doubled, forged.

Envelopes follow README §14 / examples.md §10: `{type, id: "evt_…", created: <unix>,
triggered_from, data: {object}}`, with ISO timestamps inside the object (bills keep unix
ints, as their documented example does). Documented types: customer.created/updated,
subscription.*, invoice.*, bill.created, source.deleted, vendor.deleted; the other
`<entity>.deleted` and `.updated` names the sandbox sends are INFERRED.
"""

import base64
import hashlib
import hmac
import random
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from pelcro_sync.entities import get_entity

if TYPE_CHECKING:
    from pelcro_sandbox.dataset import Dataset

# The event type's prefix per entity, as Pelcro names its events (`member.created` for
# memberships). The sandbox speaks as Pelcro does, independently of the receiver's parsing.
PREFIX_BY_ENTITY = {
    "customers": "customer",
    "subscriptions": "subscription",
    "invoices": "invoice",
    "charges": "charge",
    "sources": "source",
    "plans": "plan",
    "memberships": "member",
    "bills": "bill",
    "vendors": "vendor",
    "addresses": "address",
    "products": "product",
    "ecommerce_products": "ecommerce_product",
    "skus": "sku",
    "orders": "order",
    "refunds": "refund",
    "coupons": "coupon",
    "newsletters": "newsletter",
    "organizations": "organization",
}
# The signature header and recipe (INFERRED, README §14: HMAC-SHA256 of the raw body, base64).
HEADER = "X-Pelcro-Hmac-SHA256"


def sign(secret: str, body: bytes) -> str:
    """The header value Pelcro sends for `body` signed with the endpoint's `secret`."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


UNIX_TIMESTAMPS = {"bills"}  # examples.md §10.5: the bill event carries unix ints


class WebhookSender:
    """Builds envelopes for one sandbox; `created` strictly increases so order is testable."""

    def __init__(self, datasets: "Mapping[int, Dataset]") -> None:
        self.datasets = datasets
        self._last_created = 0
        self._lock = threading.Lock()

    def _next_created(self) -> int:
        # Real events of one second tie; a strictly increasing clock makes "older" testable.
        with self._lock:
            self._last_created = max(int(time.time()), self._last_created + 1)
            return self._last_created

    def events_for(
        self, result: dict[str, dict[str, list[int]]], *, account_id: int | None = None
    ) -> list[dict[str, Any]]:
        """Envelopes for a `Sandbox.mutate` result: one per record and site, in mutation order."""
        data = self.datasets[account_id or next(iter(self.datasets))]
        out = []
        for verb in ("created", "updated", "deleted"):
            for entity, ids in result.get(verb, {}).items():
                for record_id in ids:
                    index = data.layout.index_of(entity, record_id)
                    if index is None:
                        continue
                    record = data.record(entity, index)
                    for obj in _objects(entity, record, data.layout.sites_of(index)):
                        out.append(self.envelope(f"{PREFIX_BY_ENTITY[entity]}.{verb}", obj))
        return out

    def envelope(self, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": event_type,
            "id": f"evt_{uuid.uuid4().hex[:24]}",
            "created": self._next_created(),
            "triggered_from": "open_api",
            "data": {"object": obj},
        }


def _objects(entity: str, record: dict[str, Any], sites: list[int]) -> list[dict[str, Any]]:
    """The webhook object(s) for a record: one per site unless it carries `site_ids`."""
    obj = {"object": PREFIX_BY_ENTITY[entity], **record}
    if entity not in UNIX_TIMESTAMPS:
        for name in get_entity(entity).fields_of("timestamp"):
            if isinstance(obj.get(name), int):
                obj[name] = iso(obj[name])
    if isinstance(obj.get("site_ids"), list):
        return [obj]
    return [{**obj, "site_id": site} for site in sites]


def iso(unix: int) -> str:
    """Pelcro's webhook timestamp form, e.g. 2023-02-21T13:06:47.000000Z."""
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def disorder(
    envelopes: Iterable[dict[str, Any]], *, seed: int = 0, duplicate: bool = True
) -> list[dict[str, Any]]:
    """The envelopes shuffled and (by default) each one twice, as retries would deliver."""
    items = list(envelopes) * (2 if duplicate else 1)
    random.Random(seed).shuffle(items)
    return items


def deliver(
    url: str,
    secret: str,
    envelopes: Iterable[dict[str, Any]],
    *,
    forge: bool = False,
    timeout: float = 10.0,
) -> list[int]:
    """POST each envelope signed (or, with `forge`, signed with a wrong secret); the statuses."""
    key = secret + "-forged" if forge else secret
    statuses = []
    with httpx.Client(timeout=timeout) as client:
        for envelope in envelopes:
            body = orjson.dumps(envelope)
            headers = {"Content-Type": "application/json", HEADER: sign(key, body)}
            statuses.append(client.post(url, content=body, headers=headers).status_code)
    return statuses


def send_for_mutation(
    sender: WebhookSender,
    result: dict[str, dict[str, list[int]]],
    *,
    url: str,
    secret: str,
    account_id: int,
) -> list[int]:
    """The `mutate` hook: deliver the mutation's events in order to `url`, signed."""
    return deliver(url, secret, sender.events_for(result, account_id=account_id))
