"""A misbehaving API over real HTTP (429 storms, HTML 502s, 503s, answers slower than the
timeout, dropped connections, truncated bodies): every sync still converges exactly."""

import pytest
from sqlalchemy import Engine

from tests.faults import tally
from tests.faults.helpers import (
    ENTITIES,
    StripRetryAfter,
    assert_converged,
    deleted_ids,
    fast_client,
    settings_for,
    sync_all,
    truth,
)


@pytest.mark.parametrize("retry_after", [True, False], ids=["with-retry-after", "without"])
def test_a_429_storm_is_waited_out_and_the_warehouse_converges(
    short_window, make_sandbox, pg_engine: Engine, schema: str, retry_after: bool
):
    """The client believes it may send 6,000 requests a minute; the API admits 3 per 2 s."""
    running = make_sandbox(customers=200, sites=1, rate_limit=3)
    settings = settings_for(running, rate_limit=6000)
    transport = None if retry_after else StripRetryAfter()
    with fast_client(running, settings=settings, transport=transport) as client:
        results = sync_all(client, engine=pg_engine, schema=schema, sites=running.site_ids)
    tally.faults_from(running.sandbox)
    # After the first 429 the shared budget holds every thread off, so few more follow.
    assert running.sandbox.stats.throttled >= 3
    assert sum(r.throttled for r in results) == running.sandbox.stats.throttled
    assert all(r.status == "succeeded" for r in results)
    assert_converged(pg_engine, schema, running, ENTITIES, running.site_ids)


FAULTS = {
    "html-502-and-503": dict(html_502=0.05, http_503=0.05),
    "slower-than-timeout": dict(slow=0.10, slow_seconds=1.0),
    "dropped-mid-body": dict(drop=0.10),
    "truncated-json": dict(truncated=0.10),
}


@pytest.mark.parametrize("rates", FAULTS.values(), ids=FAULTS.keys())
def test_ten_percent_faulty_answers_are_retried_and_updates_and_deletes_converge(
    make_sandbox, pg_engine: Engine, schema: str, rates: dict[str, float]
):
    """A first load, then changes and deletes in Pelcro, then a reconcile: all under faults."""
    running = make_sandbox(seed=10, customers=200, sites=2, faults=rates)
    site = running.site_ids[0]
    with fast_client(running, timeout=0.5) as client:
        sync_all(client, engine=pg_engine, schema=schema, sites=running.site_ids)
        doomed = sorted(truth(running, "customers", site))[:3]
        running.sandbox.mutate(
            updates={"invoices": {sorted(truth(running, "invoices", site))[0]: {"total": 1}}},
            creates={"customers": 2},
            deletes={"customers": doomed},
        )
        results = sync_all(client, engine=pg_engine, schema=schema, sites=running.site_ids)
    tally.faults_from(running.sandbox)
    injected = running.sandbox.stats.faults
    assert set(injected) <= set(rates) and sum(injected.values()) >= 3, injected
    assert sum(r.retries for r in results) > 0
    assert all(r.status == "succeeded" for r in results)
    assert set(doomed) <= deleted_ids(pg_engine, schema, "customers")
    assert_converged(pg_engine, schema, running, ENTITIES, running.site_ids)
