"""The warehouse stopped in the middle of a sync (the embedded Postgres in a data folder of
this test's own): a clear error, no half-written page, and the next run converges."""

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from pelcro_sync.entities import get_entity
from pelcro_sync.pipeline.sync import sync_entity
from pelcro_sync.warehouse import embedded, migrate, state
from tests.faults import tally
from tests.faults.helpers import assert_converged, fast_client
from tests.fixtures.postgres import warehouse_of
from tests.integration.test_cli import BIN, clean_env

SCHEMA = "outage"
PAGE = 100


@pytest.fixture(scope="module")
def pgdata() -> Iterator[Path]:
    # A short path: the server's unix socket lives inside it (at most 107 bytes).
    base = Path(tempfile.mkdtemp(prefix="pf", dir="/tmp"))
    try:
        yield base / "postgres"
    finally:
        embedded.stop(pgdata=base / "postgres")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def warehouse(pgdata: Path) -> Iterator[tuple[str, Engine]]:
    """A fresh database on the embedded server, migrated."""
    url = embedded.embedded_url(pgdata=pgdata, database=f"db{time.monotonic_ns()}")
    migrate.upgrade(url, schema=SCHEMA)
    engine = create_engine(url, pool_pre_ping=True)
    yield url, engine
    engine.dispose()


def _checkpoint_consistent(engine: Engine, site: int) -> int:
    """The committed pages, after checking rows, seen ids and checkpoint agree on them."""
    with engine.connect() as conn:
        saved = state.get_state(
            conn,
            warehouse=warehouse_of(conn.engine, SCHEMA),
            site_id=site,
            entity=get_entity("customers"),
        )
        rows = conn.execute(text(f"SELECT count(*) FROM {SCHEMA}.customers")).scalar_one()
        # what the scan saw: the ids of rows it left unchanged, and the rows it wrote
        seen = conn.execute(
            text(
                f"SELECT (SELECT count(*) FROM {SCHEMA}._scan_seen) + (SELECT count(*)"
                f" FROM {SCHEMA}.customers t, {SCHEMA}._sync_state s WHERE s.entity ="
                " 'customers' AND t._synced_at >= s.scan_started_at)"
            )
        ).scalar_one()
    pages = (saved.scan_next_page or 1) - 1 if saved else 0
    assert rows == seen == pages * PAGE, (rows, seen, pages)  # whole pages, nothing half
    return pages


def test_the_warehouse_stopped_mid_sync_fails_the_run_and_the_next_run_converges(
    make_sandbox, pgdata: Path, warehouse: tuple[str, Engine]
):
    _, engine = warehouse
    running = make_sandbox(customers=800, sites=1)
    site = running.site_ids[0]
    entity = get_entity("customers")

    def stop_after_two_pages(result, page):
        if result.pages == 2:
            embedded.stop(pgdata=pgdata)

    with fast_client(running, concurrency=1) as client, pytest.raises(Exception) as caught:
        sync_entity(client, warehouse=warehouse_of(engine, SCHEMA), entity=entity, site_id=site,
                    mode="full", on_page=stop_after_two_pages)  # fmt: skip
    tally.record(db_outages=1)
    assert "OperationalError" in type(caught.value).__name__ + str(caught.value)
    embedded.embedded_url(pgdata=pgdata)  # the server comes back
    committed = _checkpoint_consistent(engine, site)  # pages are batched: 0 or more
    with fast_client(running) as client:
        result = sync_entity(
            client, warehouse=warehouse_of(engine, SCHEMA), entity=entity, site_id=site
        )
    assert result.resumed_from_page == (committed + 1 if committed else None)
    assert_converged(engine, SCHEMA, running, ["customers"], [site])


def test_the_cli_reports_a_stopped_warehouse_in_one_line_and_the_next_run_converges(
    make_sandbox, pgdata: Path, warehouse: tuple[str, Engine]
):
    url, engine = warehouse
    running = make_sandbox(customers=1500, sites=1)
    site = running.site_ids[0]
    # 5 requests/s: the scan of 9 pages takes ~2 s, long enough to pull the plug mid-way.
    env = clean_env(PELCRO_BASE_URL=running.base_url, PELCRO_API_KEY=running.api_key,
                    DATABASE_URL=url, PELCRO_SCHEMA=SCHEMA, PELCRO_RATE_LIMIT="300")  # fmt: skip
    cmd = [str(BIN), "sync", "--full", "customers"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=Path(__file__).parent)  # fmt: skip
    while proc.poll() is None and _committed_pages(engine, site) < 1:
        time.sleep(0.05)
    embedded.stop(pgdata=pgdata)
    _, err = proc.communicate(timeout=60)
    tally.record(db_outages=1)
    assert proc.returncode != 0
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: customers on site") and "warehouse" in last, err
    assert "Traceback" not in err
    embedded.embedded_url(pgdata=pgdata)
    _checkpoint_consistent(engine, site)
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert_converged(engine, SCHEMA, running, ["customers"], [site])


def _committed_pages(engine: Engine, site: int) -> int:
    try:
        with engine.connect() as conn:
            saved = state.get_state(
                conn,
                warehouse=warehouse_of(conn.engine, SCHEMA),
                site_id=site,
                entity=get_entity("customers"),
            )
    except Exception:
        return 0  # the schema may not be there yet
    return (saved.scan_next_page or 1) - 1 if saved else 0
