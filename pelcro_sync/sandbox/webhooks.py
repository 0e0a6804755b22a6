"""Signed Pelcro-shaped webhooks for the sandbox's mutations: in order, shuffled, doubled, forged.

Envelopes follow README §14 / examples.md §10: `{type, id: "evt_…", created: <unix>,
triggered_from, data: {object}}`, with ISO timestamps inside the object (bills keep unix
ints, as their documented example does). Documented types: customer.created/updated,
subscription.*, invoice.*, bill.created, source.deleted, vendor.deleted; the other
`<entity>.deleted` and `.updated` names the sandbox sends are INFERRED.
"""

import random
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import orjson

from pelcro_sync.entities import get_entity
from pelcro_sync.webhooks.events import ENTITY_BY_PREFIX
from pelcro_sync.webhooks.signature import HEADER, sign

if TYPE_CHECKING:
    from pelcro_sync.sandbox.sandbox import Sandbox

PREFIX_BY_ENTITY = {entity: prefix for prefix, entity in reversed(ENTITY_BY_PREFIX.items())}
UNIX_TIMESTAMPS = {"bills"}  # examples.md §10.5: the bill event carries unix ints


class WebhookSender:
    """Builds envelopes for one sandbox; `created` strictly increases so order is testable."""

    def __init__(self, sandbox: "Sandbox") -> None:
        self.sandbox = sandbox
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
        data = self.sandbox.datasets[account_id or next(iter(self.sandbox.datasets))]
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


def sender(sandbox: "Sandbox") -> WebhookSender:
    """The sandbox's sender, made on first use (its clock must outlive one mutation)."""
    existing = getattr(sandbox, "_webhook_sender", None)
    if existing is None:
        existing = WebhookSender(sandbox)
        sandbox._webhook_sender = existing  # type: ignore[attr-defined]
    return existing


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
    url: str, secret: str, envelopes: Iterable[dict[str, Any]], *, forge: bool = False,
    timeout: float = 10.0,
) -> list[int]:  # fmt: skip
    """POST each envelope signed (or, with `forge`, signed with a wrong secret); the statuses."""
    key = secret + "-forged" if forge else secret
    statuses = []
    with httpx.Client(timeout=timeout) as client:
        for envelope in envelopes:
            body = orjson.dumps(envelope)
            headers = {"Content-Type": "application/json", HEADER: sign(key, body)}
            statuses.append(client.post(url, content=body, headers=headers).status_code)
    return statuses


def send_for_mutation(sandbox: "Sandbox", result: dict[str, dict[str, list[int]]],
                      *, account_id: int) -> list[int]:  # fmt: skip
    """The `mutate` hook: when the config names a webhook URL and secret, deliver in order."""
    url, secret = sandbox.config.webhook_url, sandbox.config.webhook_secret
    if not url or not secret:
        return []
    return deliver(url, secret, sender(sandbox).events_for(result, account_id=account_id))
