"""The account's registered webhook endpoints (`GET /webhooks`) and what they cover.

DOCUMENTED (README §0, entities.md §21): at most 10 endpoints per account, each with a
`status` (enabled/disabled), `events` it subscribes to (snake_case in this configuration
API, `subscription_created`; the payload `type` stays dotted) and `all_events_enabled`.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Event name prefix per synced entity, for the entities Pelcro documents events for
# (entities.md Appendix A). The order is the order of concern: subscriptions change on
# their own (renewals, failed payments, period ends) and no list sort can find them, so
# their freshness depends on webhooks first.
EVENT_PREFIX: dict[str, str] = {
    "subscriptions": "subscription",
    "customers": "customer",
    "invoices": "invoice",
    "charges": "charge",
    "memberships": "member",
    "sources": "source",
    "plans": "plan",
    "vendors": "vendor",
    "bills": "bill",
}


@dataclass(frozen=True)
class Endpoint:
    id: int | None
    url: str
    status: str
    events: tuple[str, ...]
    all_events: bool

    @property
    def enabled(self) -> bool:
        # INFERRED: a missing status is an enabled endpoint (the docs name only the values).
        return self.status.lower() not in ("disabled", "inactive")

    def covers(self, entity: str) -> bool:
        """Whether this endpoint receives events of `entity`'s kind."""
        prefix = EVENT_PREFIX.get(entity)
        if prefix is None or not self.enabled:
            return False
        if self.all_events:
            return True
        # snake_case as documented, dotted as payloads spell it: accept both
        return any(e.startswith((f"{prefix}_", f"{prefix}.")) for e in self.events)


def parse(records: Iterable[Mapping[str, Any]]) -> list[Endpoint]:
    """Endpoints from the list's `data`; fields missing or mistyped count as absent."""
    out = []
    for rec in records:
        events = rec.get("events")
        out.append(
            Endpoint(
                id=rec.get("id") if isinstance(rec.get("id"), int) else None,
                url=str(rec.get("url") or ""),
                status=str(rec.get("status") or "enabled"),
                events=tuple(str(e) for e in events) if isinstance(events, list) else (),
                all_events=bool(rec.get("all_events_enabled")),
            )
        )
    return out


def uncovered(endpoints: Sequence[Endpoint], entities: Iterable[str]) -> list[str]:
    """Synced entities that have webhook events but no enabled endpoint receiving them,
    in order of concern (subscriptions first)."""
    wanted = set(entities)
    return [
        name
        for name in EVENT_PREFIX
        if name in wanted and not any(e.covers(name) for e in endpoints)
    ]
