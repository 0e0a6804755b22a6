"""The API key revoked in the middle of a run: it stops with the 401 explanation, keeps what
it committed, marks nothing deleted, and the next run (key reactivated) converges."""

import pytest
from sqlalchemy import Engine, text

from pelcro_sync.entities import get_entity
from pelcro_sync.errors import AuthError
from pelcro_sync.pipeline.sync import sync_entity
from tests.faults import tally
from tests.faults.helpers import assert_converged, deleted_ids, fast_client, live_raw, truth
from tests.fixtures.postgres import warehouse_of


def _sync(running, engine: Engine, schema: str, **kwargs):
    # One page in flight at a time, so the revocation lands exactly where it is meant to.
    with fast_client(running, concurrency=1) as client:
        return sync_entity(
            client,
            warehouse=warehouse_of(engine, schema),
            entity=get_entity("customers"),
            site_id=running.site_ids[0],
            mode="full",
            **kwargs,
        )


@pytest.mark.parametrize(
    "revoke_at", ["after-first-page", "after-last-page"], ids=["mid-scan", "mid-confirmation"]
)
def test_a_key_revoked_mid_run_stops_it_and_nothing_is_marked_deleted(
    make_sandbox, pg_engine: Engine, schema: str, revoke_at: str
):
    running = make_sandbox(customers=400, sites=1)
    site = running.site_ids[0]
    _sync(running, pg_engine, schema)
    before = live_raw(pg_engine, schema, "customers", site)
    ids = sorted(before)
    changed = {ids[0]: {"first_name": "Changed before the revocation"}}
    running.sandbox.mutate(updates={"customers": changed}, deletes={"customers": ids[-3:]})

    def revoke(result, page):
        last = page.number * 100 >= (page.total or 0)
        if revoke_at == "after-first-page" or last:
            running.sandbox.revoke_key(running.api_key)

    with pytest.raises(AuthError, match="401 the API key was rejected"):
        _sync(running, pg_engine, schema, on_page=revoke)
    tally.record(bad_inputs=1)
    after = live_raw(pg_engine, schema, "customers", site)
    assert deleted_ids(pg_engine, schema, "customers") == set()  # an aborted run deletes nothing
    assert set(after) == set(before)  # nothing rolled back, nothing lost
    assert after[ids[0]] == truth(running, "customers", site)[ids[0]]  # page 1 committed
    assert _last_run(pg_engine, schema)[0] == "failed"
    assert running.api_key not in _last_run(pg_engine, schema)[1]

    running.sandbox.reactivate_key(running.api_key)
    result = _sync(running, pg_engine, schema)
    assert result.status == "succeeded" and result.deleted == 3
    assert deleted_ids(pg_engine, schema, "customers") == set(ids[-3:])
    assert_converged(pg_engine, schema, running, ["customers"], [site])


def _last_run(engine: Engine, schema: str) -> tuple[str, str]:
    with engine.connect() as conn:
        row = conn.execute(
            text(f'SELECT status, error FROM "{schema}"._sync_runs ORDER BY started_at DESC')
        ).first()
    return row.status, row.error or ""
