"""The API as its docs say (README §0), client and sandbox over HTTP: filters, expand, plan
`active`, unix timestamps, an absent /sources, registered webhooks, no rate-limit headers."""

import uuid

import pytest
from sqlalchemy import Engine, text

from pelcro_sandbox.webhooks import WebhookSender
from pelcro_sync.api import filters
from pelcro_sync.api.client import EndpointUnavailableError, PelcroClient
from pelcro_sync.api.retry import RetryPolicy
from pelcro_sync.config import Secret, Settings
from pelcro_sync.entities import ENTITIES, get_entity
from pelcro_sync.errors import RateLimitedError
from pelcro_sync.pipeline.sync import sync_entity
from pelcro_sync.warehouse import migrate
from tests.fixtures.postgres import warehouse_of
from tests.integration.test_cli import run


def settings_for(running, **kw) -> Settings:
    return Settings(api_key=Secret(running.api_key), base_url=running.base_url, **kw)


def listed(client: PelcroClient, entity: str, site: int, params: dict[str, str]) -> list[dict]:
    pages = client.iter_pages(get_entity(entity), site_id=site, sort=None, filters=params)
    return [r for page in pages for r in page.records]


@pytest.fixture
def schema(pg_url: str, pg_engine: Engine):
    name = f"fid_{uuid.uuid4().hex[:8]}"
    migrate.upgrade(pg_url, schema=name)
    yield name
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def test_subscriptions_filter_by_comma_separated_status_and_by_customer(sandbox):
    site = sandbox.site_ids[0]
    every = sandbox.sandbox.truth("subscriptions", site)
    assert "extended" in {s["status"] for s in every}  # the list page's added status
    owner = every[0]["user_id"]
    with PelcroClient(settings_for(sandbox)) as client:
        live = listed(client, "subscriptions", site,
                      filters.subscriptions(status=["extended", "past_due"]))  # fmt: skip
        mine = listed(client, "subscriptions", site, filters.subscriptions(customer_id=owner))
    assert live == [s for s in every if s["status"] in ("extended", "past_due")] != []
    assert mine == [s for s in every if s["user_id"] == owner] != []


def test_metadata_filters_match_values_keys_and_or_combine(sandbox):
    site = sandbox.site_ids[0]
    every = sandbox.sandbox.truth("customers", site)
    keys = sorted({k for c in every for k in c["metadata"] or {}})
    assert len(keys) >= 2
    a, b = keys[0], keys[1]
    value = next(c["metadata"][a] for c in every if a in (c["metadata"] or {}))
    with PelcroClient(settings_for(sandbox)) as client:
        has_a = listed(client, "customers", site, filters.metadata_has(a))
        equals = listed(client, "customers", site, filters.metadata_equals(a, str(value)))
        either = listed(client, "customers", site,
                        filters.metadata_equals(a, str(value), either=True)
                        | filters.metadata_has(b, either=True))  # fmt: skip
    meta = [(c, c["metadata"] or {}) for c in every]
    assert has_a == [c for c, m in meta if a in m] != []
    assert equals == [c for c, m in meta if str(m.get(a)) == str(value)] != []
    assert either == [c for c, m in meta if str(m.get(a)) == str(value) or b in m]


def test_expand_is_served_capped_and_the_sync_never_asks_for_it(make_sandbox, pg_engine, schema):
    running = make_sandbox(customers=200)
    site = running.site_ids[0]
    with PelcroClient(settings_for(running)) as client:
        expand = {"site_id": site, "limit": 100, "expand": "customers"}
        body = client.request_json("GET", "/organizations", params=expand)
        refunds = client.request_json("GET", "/refunds",
                                      params={"site_id": site, "include": "charge"})  # fmt: skip
        assert running.sandbox.stats.expanded == 2
        assert all(isinstance(o["customers"], list) and len(o["customers"]) <= 5
                   for o in body["data"])  # fmt: skip
        assert all(r["charge"]["id"] == r["charge_id"] for r in refunds["data"])
        for name in ("customers", "organizations", "refunds"):
            result = sync_entity(client, warehouse=warehouse_of(pg_engine, schema),
                                 entity=get_entity(name), site_id=site)  # fmt: skip
            assert result.records_read == len(running.sandbox.truth(name, site))
    assert running.sandbox.stats.expanded == 2  # none from the sync


def test_plans_active_bool_or_text_lands_as_active_or_archived(sandbox, pg_engine, schema):
    site = sandbox.site_ids[0]
    with PelcroClient(settings_for(sandbox)) as client:
        sync_entity(client, warehouse=warehouse_of(pg_engine, schema),
                    entity=get_entity("plans"), site_id=site)  # fmt: skip
    with pg_engine.connect() as conn:
        rows = conn.execute(text(
            f"select active, _raw->'active' as raw from \"{schema}\".plans where site_id = :s"
        ), {"s": site}).all()  # fmt: skip
    assert {r.active for r in rows} == {"active", "archived"}
    assert {type(r.raw) for r in rows} == {bool, str}  # both forms, kept as sent in _raw
    assert all(r.active == ("active" if r.raw in (True, "active") else "archived") for r in rows)


def test_rest_records_carry_unix_timestamps_and_webhooks_iso_strings(sandbox):
    with PelcroClient(settings_for(sandbox)) as client:
        for entity in ENTITIES:
            for page in client.iter_pages(entity, site_id=sandbox.site_ids[0]):
                for record in page.records:
                    for name in entity.fields_of("timestamp"):
                        assert record.get(name) is None or isinstance(record[name], int), (
                            entity.name, name, record[name])  # fmt: skip
    sub = sandbox.sandbox.truth("subscriptions", sandbox.site_ids[0])[0]
    event = WebhookSender(sandbox.sandbox.datasets).events_for(
        {"updated": {"subscriptions": [sub["id"]]}})[0]  # fmt: skip
    assert isinstance(event["data"]["object"]["created"], str)
    assert event["data"]["object"]["created"].endswith("Z")


@pytest.mark.parametrize("status", [404, 405])
def test_sources_unavailable_is_skipped_once_not_failed_nor_tombstoned(
    make_sandbox, pg_url, schema, pg_engine, status
):
    running = make_sandbox(customers=60)
    env = {"PELCRO_BASE_URL": running.base_url, "PELCRO_API_KEY": running.api_key,
           "DATABASE_URL": pg_url, "PELCRO_SCHEMA": schema}  # fmt: skip
    first = run("sync", "sources", "customers", "--full", env=env)
    assert first.returncode == 0, first.stderr
    running.sandbox.config.sources_status = status
    with PelcroClient(settings_for(running)) as client, pytest.raises(EndpointUnavailableError):
        client.total(get_entity("sources"), site_id=running.site_ids[0])
    again = run("sync", "sources", "customers", "--full", env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("sources: not available on this account") == 1
    with pg_engine.connect() as conn:
        query = f'select count(*) from "{schema}".sources where _deleted_at is null'
        live = conn.execute(text(query)).scalar_one()
    assert live == sum(len(running.sandbox.truth("sources", s)) for s in running.site_ids) > 0


def test_check_lists_webhooks_and_warns_for_uncovered_entities_subscriptions_first(
    make_sandbox, pg_url
):
    bare = make_sandbox()
    env = {"PELCRO_BASE_URL": bare.base_url, "PELCRO_API_KEY": bare.api_key,
           "DATABASE_URL": pg_url}  # fmt: skip
    result = run("check", env=env)
    assert result.returncode == 0, result.stderr
    warnings = [ln for ln in result.stdout.splitlines() if ln.startswith("warning: no enabled")]
    assert warnings[0].startswith("warning: no enabled webhook covers subscriptions")
    assert len(warnings) == 9
    hooked = make_sandbox(webhook_endpoints=[
        {"url": "https://etl.example.com/hooks", "events": ["subscription_created",
                                                            "subscription_updated"]},
        {"url": "https://old.example.com/hooks", "all_events_enabled": True,
         "status": "disabled"},
    ])  # fmt: skip
    env |= {"PELCRO_BASE_URL": hooked.base_url, "PELCRO_API_KEY": hooked.api_key}
    result = run("check", env=env)
    assert result.returncode == 0, result.stderr
    assert (
        "https://etl.example.com/hooks" in result.stdout and "subscription_created" in result.stdout
    )
    assert "covers subscriptions" not in result.stdout
    assert "covers customers" in result.stdout  # the enabled-for-all endpoint is disabled


def test_no_rate_limit_headers_pacing_holds_and_a_bare_429_is_backed_off(make_sandbox):
    running = make_sandbox(customers=100, rate_limit=120, rate_limit_headers=False)
    site = running.site_ids[0]
    with PelcroClient(settings_for(running)) as client:
        for _ in range(4):
            client.total(get_entity("customers"), site_id=site)
    assert running.sandbox.stats.throttled == 0

    running.sandbox.set_rate_limit(1)  # the window already holds more: every request is a 429
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the server recovers while the client backs off
        slept.append(seconds)
        running.sandbox.set_rate_limit(None)

    with PelcroClient(settings_for(running, rate_limit=6000), sleep=sleep,
                      policy=RetryPolicy(base=0.01)) as client:  # fmt: skip
        assert client.total(get_entity("customers"), site_id=site) > 0
    assert running.sandbox.stats.throttled == 1 and len(slept) == 1  # backoff, no Retry-After

    running.sandbox.set_rate_limit(1)
    with PelcroClient(settings_for(running, rate_limit=6000), sleep=lambda s: None,
                      policy=RetryPolicy(max_attempts=2, base=0.01)) as client,\
            pytest.raises(RateLimitedError) as caught:  # fmt: skip
        client.total(get_entity("customers"), site_id=site)
    assert caught.value.retry_after is None
