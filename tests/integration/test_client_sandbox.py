"""PelcroClient against the real sandbox over HTTP: every entity, auth, faults, rate limits."""

import gc
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from pelcro_sandbox import ratelimit as sandbox_ratelimit
from pelcro_sandbox.config import SandboxConfig
from pelcro_sandbox.runner import Running, serve
from pelcro_sandbox.sandbox import Sandbox
from pelcro_sync.api.client import PelcroClient
from pelcro_sync.api.ratelimit import RateLimiter, reset_shared_budgets
from pelcro_sync.api.retry import RetryPolicy
from pelcro_sync.config import Secret, Settings
from pelcro_sync.entities import ENTITIES, get_entity
from pelcro_sync.errors import AuthError

FAST_RETRY = RetryPolicy(max_attempts=10, base=0.05, cap=0.5)


@contextmanager
def running_sandbox(**cfg: object) -> Iterator[Running]:
    with serve(Sandbox(SandboxConfig(**cfg))) as running:  # type: ignore[arg-type]
        yield running


def client_for(running: Running, *, key: str | None = None, **kw: object) -> PelcroClient:
    settings_kw = {k: kw.pop(k) for k in ("rate_limit",) if k in kw}
    settings = Settings(
        api_key=Secret(key or running.api_key), base_url=running.base_url, **settings_kw
    )  # type: ignore[arg-type]
    return PelcroClient(settings, **kw)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _fresh_budgets() -> Iterator[None]:
    reset_shared_budgets()
    yield
    reset_shared_budgets()


@pytest.fixture(scope="module")
def shared() -> Iterator[Running]:
    """A 600-customer, two-site sandbox: several pages for the big entities."""
    with running_sandbox(customers=600, sites=2) as running:
        yield running


def read_all(client: PelcroClient, entity: str, site: int) -> tuple[list[dict], int | None]:
    records, total = [], None
    for page in client.iter_pages(get_entity(entity), site_id=site):
        records.extend(page.records)
        total = page.total if total is None else total
    return records, total


@pytest.mark.parametrize("entity", [e.name for e in ENTITIES])
def test_every_entity_read_over_http_equals_the_truth(shared: Running, entity: str) -> None:
    with client_for(shared) as client:
        for site in client.site_ids():
            records, total = read_all(client, entity, site)
            truth = shared.sandbox.truth(entity, site)
            assert len(records) == len(truth) == (total or 0)
            assert sorted(records, key=lambda r: r["id"]) == sorted(truth, key=lambda r: r["id"])


def test_account_sites_and_rate_limit(shared: Running) -> None:
    with client_for(shared) as client:
        assert client.site_ids() == tuple(shared.site_ids)
        assert client.rate_limit() == shared.sandbox.account["api_core_rate_limit"]


def test_revoked_key_fails_fast_with_auth_error(shared: Running) -> None:
    key = shared.sandbox.create_key()
    shared.sandbox.revoke_key(key)
    with client_for(shared, key=key, rate_limit=100_000) as client:
        start = time.monotonic()
        with pytest.raises(AuthError, match="API key was rejected") as info:
            list(client.iter_pages(get_entity("customers"), site_id=shared.site_ids[0]))
        assert time.monotonic() - start < 2
        assert client.stats.snapshot()["requests"] == 1
        assert key not in str(info.value)


@pytest.mark.parametrize(
    "faults",
    [{"html_502": 0.3}, {"drop": 0.3}, {"truncated": 0.3}, {"http_503": 0.3},
     {"html_502": 0.15, "drop": 0.15, "truncated": 0.1}],
    ids=["html-502", "dropped-connection", "truncated-body", "503", "mixed"],
)  # fmt: skip
def test_faults_are_recovered_from(faults: dict[str, float]) -> None:
    with running_sandbox(customers=600, faults=faults) as running:
        site = running.site_ids[0]
        with client_for(running, rate_limit=100_000, policy=FAST_RETRY) as client:
            records, _ = read_all(client, "customers", site)
            assert records == running.sandbox.truth("customers", site)
            assert client.stats.snapshot()["retries"] > 0
        assert sum(running.sandbox.stats.faults.values()) > 0


@pytest.fixture
def short_window(monkeypatch: pytest.MonkeyPatch) -> float:
    """Shrink the sandbox's rolling window from 60 s to 5 s: the same arithmetic, 12x sooner."""
    monkeypatch.setattr(sandbox_ratelimit, "WINDOW", 5.0)
    return 5.0


def test_429_storm_is_recovered_from(short_window: float) -> None:
    """A client that believes the limit is far higher bursts into 429s, then recovers."""
    with running_sandbox(customers=600, rate_limit=5) as running:
        site = running.site_ids[0]
        budget = RateLimiter(100_000)  # the wrong rate, so the server must push back
        with client_for(running, budget=budget, policy=FAST_RETRY) as client:
            records, _ = read_all(client, "invoices", site)
            assert records == running.sandbox.truth("invoices", site)
            assert client.stats.snapshot()["throttled"] > 0
            assert budget.penalties > 0


def test_concurrent_entities_under_a_rate_limit_get_no_429(short_window: float) -> None:
    """Three entities at once, 8 pages in flight each, paced to the limit: zero 429s, and
    most of the budget used."""
    limit = 10  # per 5 s window: 120 per minute
    with running_sandbox(customers=3000, rate_limit=limit, latency=0.2) as running:
        site = running.site_ids[0]
        with client_for(running, rate_limit=120) as client:
            client.account()
            running.sandbox.reset_stats()
            start = time.monotonic()
            deadline = start + 10
            threads = [threading.Thread(target=_read_until, args=(client, e, site, deadline))
                       for e in ("customers", "invoices", "charges")]  # fmt: skip
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.monotonic() - start
        stats = running.sandbox.stats
        assert stats.throttled == 0 and client.stats.snapshot()["throttled"] == 0
        assert stats.max_in_window(short_window) <= limit
        assert stats.requests >= 0.85 * (120 / 60) * elapsed


def _read_until(client: PelcroClient, entity: str, site: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        pages = client.iter_pages(get_entity(entity), site_id=site)
        for _ in pages:
            if time.monotonic() >= deadline:
                pages.close()  # type: ignore[attr-defined]
                return


def test_page_bodies_are_freed_without_the_cyclic_collector(shared: Running) -> None:
    """A sync runs the cyclic collector rarely (`pelcro_sync.collector`); each httpx
    response is in a reference cycle, so a body kept on it would outlive its page."""
    site = shared.site_ids[0]
    params = {"site_id": site, "limit": 100, "page": 1}
    pages = 20
    with client_for(shared) as client:
        client.request_json("GET", "/customers", params=params)  # a pooled connection
        body_bytes = client.stats.bytes
        gc.collect()
        gc.disable()
        tracemalloc.start()
        try:
            for _ in range(pages):
                client.request_json("GET", "/customers", params=params)
            retained, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            gc.enable()
    assert body_bytes > 50_000  # a page big enough to tell bodies from bookkeeping
    assert retained < pages * body_bytes / 4, f"{retained:,} bytes retained"
