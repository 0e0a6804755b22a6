"""Two syncs of the same site and entity started at once: one waits or stops with a clear
error; no row is duplicated and no update is lost."""

import threading

import pytest
from sqlalchemy import Engine, text

from pelcro_sync.entities import get_entity
from pelcro_sync.pipeline.sync import sync_entity
from pelcro_sync.warehouse.locks import SyncInProgressError
from tests.faults.helpers import assert_converged, fast_client, truth
from tests.fixtures.postgres import warehouse_of


def _race(running, engine: Engine, schema: str, *, wait_s: float) -> list[object]:
    """Start two syncs of customers on one site together; each one's result or error."""
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def one() -> None:
        with fast_client(running) as client:
            start.wait()
            try:
                outcomes.append(
                    sync_entity(
                        client,
                        warehouse=warehouse_of(engine, schema),
                        entity=get_entity("customers"),
                        site_id=running.site_ids[0],
                        mode="full",
                        lock_wait_s=wait_s,
                    )
                )
            except Exception as exc:
                outcomes.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    # Pelcro changes while they run: the run that reads after this must not lose it.
    ids = sorted(truth(running, "customers", running.site_ids[0]))
    running.sandbox.mutate(updates={"customers": {ids[1]: {"first_name": "Raced"}}})
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


@pytest.mark.parametrize("wait_s", [0.0, 60.0], ids=["second-stops", "second-waits"])
def test_two_syncs_at_once_never_overlap_duplicate_or_lose_a_row(
    make_sandbox, pg_engine: Engine, schema: str, wait_s: float
):
    running = make_sandbox(customers=800, sites=1, latency=0.05)
    site = running.site_ids[0]
    outcomes = _race(running, pg_engine, schema, wait_s=wait_s)
    errors = [o for o in outcomes if isinstance(o, Exception)]
    done = [o for o in outcomes if not isinstance(o, Exception)]
    if wait_s:
        assert errors == [] and [r.status for r in done] == ["succeeded"] * 2
        # The waiting run read after the change: converged with no third run.
        assert_converged(pg_engine, schema, running, ["customers"], [site])
    else:
        assert len(errors) == 1 and isinstance(errors[0], SyncInProgressError), outcomes
        assert "already being synced by another run" in str(errors[0])
    with fast_client(running) as client:  # a later run picks up anything the race missed
        sync_entity(
            client,
            warehouse=warehouse_of(pg_engine, schema),
            entity=get_entity("customers"),
            site_id=site,
            mode="full",
        )
    with pg_engine.connect() as conn:
        rows, ids = conn.execute(
            text(f'SELECT count(*), count(DISTINCT id) FROM "{schema}".customers')
        ).one()
    assert rows == ids == len(truth(running, "customers", site))
    assert_converged(pg_engine, schema, running, ["customers"], [site])
