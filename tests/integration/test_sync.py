"""End to end: the sandbox over HTTP -> sync_entity -> Postgres equals the sandbox's truth."""

import gc
import uuid
from collections.abc import Iterator

import orjson
import pytest
from sqlalchemy import Engine, text

from pelcro_sync import collector
from pelcro_sync.api.client import PelcroClient
from pelcro_sync.config import Secret, Settings
from pelcro_sync.entities import ENTITIES, get_entity
from pelcro_sync.errors import AuthError
from pelcro_sync.pipeline.sync import sync_entity
from pelcro_sync.warehouse import migrate, state
from tests.fixtures.postgres import warehouse_of


@pytest.fixture
def schema(pg_url: str, pg_engine: Engine) -> Iterator[str]:
    """A migrated warehouse schema of this test's own."""
    name = f"w_{uuid.uuid4().hex[:8]}"
    migrate.upgrade(pg_url, schema=name)
    yield name
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def settings_for(running) -> Settings:
    return Settings(api_key=Secret(running.api_key), base_url=running.base_url)


def warehouse_rows(engine: Engine, schema: str, entity: str, site_id: int) -> dict[int, dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(f'SELECT id, _raw FROM "{schema}"."{entity}" WHERE site_id = :s'),
            {"s": site_id},
        )
        return {row.id: row._raw for row in rows}


def truth(running, entity: str, site_id: int) -> dict[int, dict]:
    # Round-trip through JSON so the comparison sees what travelled over HTTP.
    records = running.sandbox.truth(entity, site_id)
    return {r["id"]: orjson.loads(orjson.dumps(r)) for r in records}


def test_every_entity_of_every_site_lands_exactly_as_the_api_lists_it(
    sandbox, pg_engine: Engine, schema: str
):
    with PelcroClient(settings_for(sandbox)) as client:
        for site_id in sandbox.site_ids:
            for entity in ENTITIES:
                result = sync_entity(
                    client,
                    warehouse=warehouse_of(pg_engine, schema),
                    entity=entity,
                    site_id=site_id,
                )
                expected = truth(sandbox, entity.name, site_id)
                assert result.status == "succeeded"
                assert result.records_read == len(expected) == result.api_total
                assert result.inserted == len(expected), entity.name
                assert warehouse_rows(pg_engine, schema, entity.name, site_id) == expected


def test_a_second_sync_of_unchanged_data_writes_no_row(sandbox, pg_engine: Engine, schema: str):
    entity = get_entity("subscriptions")
    site = sandbox.site_ids[0]
    with PelcroClient(settings_for(sandbox)) as client:
        first = sync_entity(
            client, warehouse=warehouse_of(pg_engine, schema), entity=entity, site_id=site
        )
        newest = text(f'SELECT max(_synced_at) FROM "{schema}".subscriptions')
        with pg_engine.connect() as conn:
            before = conn.execute(newest).scalar()
        second = sync_entity(
            client, warehouse=warehouse_of(pg_engine, schema), entity=entity, site_id=site
        )
    assert first.inserted > 0
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, first.inserted)
    assert first.drift and not second.drift  # undeclared fields reported once, on first sight
    with pg_engine.connect() as conn:
        after = conn.execute(newest).scalar()
    assert after == before


def test_changes_in_pelcro_reach_the_warehouse_on_the_next_sync(
    make_sandbox, pg_engine: Engine, schema: str
):
    running = make_sandbox(customers=150)
    entity = get_entity("customers")
    site = running.site_ids[0]
    with PelcroClient(settings_for(running)) as client:
        sync_entity(client, warehouse=warehouse_of(pg_engine, schema), entity=entity, site_id=site)
        visible = sorted(truth(running, "customers", site))
        changed = running.sandbox.mutate(
            updates={"customers": {visible[0]: {"first_name": "Zoë ✨"}}}, creates={"customers": 2}
        )
        result = sync_entity(
            client, warehouse=warehouse_of(pg_engine, schema), entity=entity, site_id=site
        )
    assert result.updated == 1
    assert result.inserted == len(changed["created"]["customers"]) == 2
    rows = warehouse_rows(pg_engine, schema, "customers", site)
    assert rows == truth(running, "customers", site)
    with pg_engine.connect() as conn:
        name = conn.execute(
            text(f'SELECT first_name FROM "{schema}".customers WHERE site_id=:s AND id=:i'),
            {"s": site, "i": visible[0]},
        ).scalar()
    assert name == "Zoë ✨"


def test_a_scan_stopped_by_a_revoked_key_resumes_at_the_next_page(
    make_sandbox, pg_engine: Engine, schema: str
):
    """Pages committed before the failure stay; the next run starts after them, and finishes."""
    running = make_sandbox(customers=1500)
    entity = get_entity("customers")
    site = running.site_ids[0]
    pages_seen = []

    def revoke_after_two_pages(result, page):
        pages_seen.append(page.number)
        if len(pages_seen) == 2:
            running.sandbox.revoke_key(running.api_key)

    # One page in flight at a time, so the revocation lands before the scan's end.
    with PelcroClient(settings_for(running), concurrency=1) as client, pytest.raises(AuthError):
        sync_entity(
            client,
            warehouse=warehouse_of(pg_engine, schema),
            entity=entity,
            site_id=site,
            on_page=revoke_after_two_pages,
        )
    committed = warehouse_rows(pg_engine, schema, "customers", site)
    assert len(committed) >= 200
    with pg_engine.connect() as conn:
        saved = state.get_state(
            conn,
            warehouse=warehouse_of(conn.engine, schema),
            site_id=site,
            entity=get_entity("customers"),
        )
    assert saved is not None and saved.scan_next_page is not None and saved.scan_next_page >= 3
    running.sandbox.reactivate_key(running.api_key)
    with PelcroClient(settings_for(running)) as client:
        result = sync_entity(
            client, warehouse=warehouse_of(pg_engine, schema), entity=entity, site_id=site
        )
    assert result.resumed_from_page == saved.scan_next_page
    assert warehouse_rows(pg_engine, schema, "customers", site) == truth(running, "customers", site)
    with pg_engine.connect() as conn:
        done = state.get_state(
            conn,
            warehouse=warehouse_of(conn.engine, schema),
            site_id=site,
            entity=get_entity("customers"),
        )
        runs = conn.execute(
            text(f'SELECT status, error FROM "{schema}"._sync_runs ORDER BY started_at')
        ).all()
    assert done is not None and done.scan_next_page is None
    assert done.last_complete_scan_total == len(truth(running, "customers", site))
    assert [r.status for r in runs] == ["failed", "succeeded"]
    assert running.api_key not in (runs[0].error or "")
    assert "rejected" in runs[0].error or "revoked" in runs[0].error


def test_a_sync_runs_with_the_collector_relaxed_and_restores_it(
    sandbox, pg_engine: Engine, schema: str
):
    seen: list[int] = []
    before = gc.get_threshold()
    with PelcroClient(settings_for(sandbox)) as client:
        sync_entity(
            client,
            warehouse=warehouse_of(pg_engine, schema),
            entity=get_entity("customers"),
            site_id=sandbox.site_ids[0],
            on_page=lambda result, page: seen.append(gc.get_threshold()[0]),
        )
    assert seen and min(seen) >= collector.SYNC_THRESHOLD
    assert gc.get_threshold() == before


def test_a_full_sync_reads_its_state_row_once(
    sandbox, pg_engine: Engine, schema: str, monkeypatch: pytest.MonkeyPatch
):
    """The row is read at the start and handed down: mode, resume page, scan clock and drift
    baseline all come from that one read (four reads before the Warehouse handle)."""
    reads: list[str] = []
    original = state.get_state

    def counted(conn, **kwargs):
        reads.append(kwargs["entity"].name)
        return original(conn, **kwargs)

    monkeypatch.setattr(state, "get_state", counted)
    entity, site = get_entity("plans"), sandbox.site_ids[0]
    with PelcroClient(settings_for(sandbox)) as client:
        for _ in range(2):  # a first load, then a full reconcile with delete detection
            result = sync_entity(client, warehouse=warehouse_of(pg_engine, schema), entity=entity,
                                 site_id=site, mode="full")  # fmt: skip
            assert result.status == "succeeded"
    assert reads == ["plans", "plans"]
