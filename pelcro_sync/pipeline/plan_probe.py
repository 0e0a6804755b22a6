"""The requests behind `pelcro-sync plan`: one count per entity and site, and one more.

Each count is page 1 with `limit=1`, read for its `meta.total`. With `GET /account` (for
the sites and the limit) and one status-filtered subscriptions count, a plan costs at
most 2 + entities × sites requests.
"""

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from pelcro_sync.api import filters
from pelcro_sync.api.client import EndpointUnavailableError, PelcroClient
from pelcro_sync.entities import Entity, get_entity
from pelcro_sync.errors import ValidationError
from pelcro_sync.pipeline.plan import Count, Plan, Schedules, StatusPass, build, live_subscriptions
from pelcro_sync.pipeline.runner import resolve_sites


def budget(entities: Sequence[Entity], sites: Sequence[int]) -> int:
    """The most requests `measure` makes."""
    return 2 + len(entities) * len(sites)


def measure(
    client: PelcroClient,
    *,
    entities: Sequence[Entity],
    requested_sites: Sequence[int] = (),
    schedules: Schedules,
) -> Plan:
    """Count every entity on every site (`requested_sites`, else all the account's) and
    build the plan at the client's rate limit."""
    before = client.stats.snapshot()["requests"]
    sites = resolve_sites(client, requested_sites)  # GET /account, unless asked already
    rate = client.rate_limit()
    pairs = [(e, s) for s in sites for e in entities]
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="plan") as pool:
        totals = list(pool.map(lambda pair: _count(client, *pair), pairs))
    counts = [
        Count(e.name, s, total, newest_first=e.newest_first is not None)
        for (e, s), total in zip(pairs, totals, strict=True)
    ]
    status_pass = _status_pass(client, counts)
    return build(
        counts,
        rate=rate,
        schedules=schedules,
        status_pass=status_pass,
        probe_requests=client.stats.snapshot()["requests"] - before,
        probe_budget=budget(entities, sites),
    )


def _count(client: PelcroClient, entity: Entity, site_id: int) -> int | None:
    try:
        return client.total(entity, site_id=site_id)
    except EndpointUnavailableError:
        return None


def _status_pass(client: PelcroClient, counts: Sequence[Count]) -> StatusPass | None:
    """Live subscriptions counted on the site with the most subscriptions (one request)."""
    subs = [c for c in counts if c.entity == "subscriptions" and c.records is not None]
    if not subs:
        return None
    largest = max(subs, key=lambda c: c.records or 0)
    live_filter = filters.subscriptions(status=filters.LIVE_SUBSCRIPTION_STATUSES)
    try:
        live = client.total(
            get_entity("subscriptions"), site_id=largest.site_id, filters=live_filter
        )
    except ValidationError:  # an account that refuses the filter: no pass to propose
        return None
    return live_subscriptions(
        site_id=largest.site_id,
        total=largest.records or 0,
        live=live,
        totals=[c.records or 0 for c in subs],
    )
