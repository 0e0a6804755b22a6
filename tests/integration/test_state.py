"""Sync bookkeeping: run lifecycle, checkpoints, complete scans, status listing, redaction."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from pelcro_sync.entities import get_entity
from pelcro_sync.warehouse import state
from pelcro_sync.warehouse.status import last_runs
from tests.fixtures.postgres import warehouse_of

SITE = 42
CUSTOMERS = get_entity("customers")


def _run_row(engine: Engine, schema: str, run_id: str) -> dict:
    with engine.connect() as conn:
        row = conn.execute(
            text(f'select * from "{schema}"._sync_runs where run_id = :r'), {"r": run_id}
        ).one()
    return row._asdict()


def test_run_lifecycle_records_counts_and_stamps_last_success(
    pg_engine: Engine, migrated_schema: str
) -> None:
    wh = warehouse_of(pg_engine, migrated_schema)
    with pg_engine.begin() as conn:
        run_id = state.start_run(conn, warehouse=wh, site_id=SITE, entity=CUSTOMERS, mode="full")
    row = _run_row(pg_engine, migrated_schema, run_id)
    assert (row["status"], row["mode"], row["finished_at"]) == ("running", "full", None)
    with pg_engine.begin() as conn:
        state.finish_run(
            conn, warehouse=wh, run_id=run_id, status="succeeded",
            records_read=10, inserted=7, updated=2, unchanged=1, requests=3,
            type_errors={"created_at": 1},
        )  # fmt: skip
    row = _run_row(pg_engine, migrated_schema, run_id)
    assert row["status"] == "succeeded" and row["finished_at"] is not None
    assert (row["records_read"], row["inserted"], row["updated"], row["unchanged"]) == (10, 7, 2, 1)
    assert (row["deleted"], row["requests"], row["type_errors"]) == (0, 3, {"created_at": 1})
    with pg_engine.connect() as conn:
        current = state.get_state(conn, warehouse=wh, site_id=SITE, entity=CUSTOMERS)
    assert current is not None and current.last_success_at == row["finished_at"]


@dataclass
class _Result:
    """The shape of sync.EntityResult that finish_run reads."""

    run_id: str
    status: str = "failed"
    error: str | None = "HTTP 401 with Authorization: Bearer sk_live_abc123 rejected"
    records_read: int = 5
    inserted: int = 5
    type_errors: Counter[str] = field(default_factory=Counter)


def test_finish_run_from_a_result_object_redacts_the_error(
    pg_engine: Engine, migrated_schema: str
) -> None:
    wh = warehouse_of(pg_engine, migrated_schema)
    plans = get_entity("plans")
    with pg_engine.begin() as conn:
        run_id = state.start_run(conn, warehouse=wh, site_id=SITE, entity=plans, mode="scan")
        state.finish_run(conn, warehouse=wh, result=_Result(run_id=run_id))
    row = _run_row(pg_engine, migrated_schema, run_id)
    assert row["status"] == "failed" and (row["records_read"], row["inserted"]) == (5, 5)
    assert "sk_live_abc123" not in row["error"] and "Bearer ***" in row["error"]
    with pg_engine.connect() as conn:
        current = state.get_state(conn, warehouse=wh, site_id=SITE, entity=plans)
    assert current is None  # a failure stamps no success


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        ("401: Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
        ("cannot connect to postgresql://u:hunter2@db:5432/x", "hunter2"),
        ("GET /customers?api_key=k3y&page=2 failed", "k3y"),
        ("conninfo password=s3cret host=db", "s3cret"),
        ('{"access_token": "tok123"}', "tok123"),
    ],
    ids=["bearer", "url-password", "query-key", "libpq-password", "json-token"],
)
def test_redact_removes_secrets_and_keeps_one_line(message: str, secret: str) -> None:
    cleaned = state.redact(message + "\nsecond line")
    assert cleaned is not None and secret not in cleaned and "\n" not in cleaned
    assert "second line" in cleaned


def test_progress_is_saved_read_back_and_cleared_by_a_complete_scan(
    pg_engine: Engine, migrated_schema: str
) -> None:
    wh = warehouse_of(pg_engine, migrated_schema)
    key = {"warehouse": wh, "site_id": SITE, "entity": get_entity("invoices")}
    with pg_engine.begin() as conn:
        run_id = state.start_run(conn, mode="scan", **key)
        started = state.save_progress(conn, run_id=run_id, next_page=2, sort="id", max_id=50,
                                      **key)  # fmt: skip
    with pg_engine.connect() as conn:
        first = state.get_state(conn, **key)
    with pg_engine.begin() as conn:
        again = state.save_progress(conn, run_id=run_id, next_page=3, sort="id", max_id=40, **key)
        resumed = state.get_state(conn, **key)
    assert first is not None and resumed is not None
    # each checkpoint returns the scan's start, so a scan never reads the row back for it
    assert started == again == first.scan_started_at is not None
    assert (resumed.scan_next_page, resumed.scan_sort, resumed.scan_run_id) == (3, "id", run_id)
    assert resumed.max_id_seen == 50  # the highest id ever seen, not the last page's
    assert resumed.scan_started_at == first.scan_started_at  # same scan, same clock

    finished = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    with pg_engine.begin() as conn:
        state.complete_scan(conn, total=1234, finished_at=finished, **key)
        done = state.get_state(conn, **key)
    assert done is not None
    assert (done.last_complete_scan_at, done.last_complete_scan_total) == (finished, 1234)
    assert (done.scan_next_page, done.scan_started_at, done.scan_run_id) == (None, None, None)
    assert done.max_id_seen == 50


def test_a_checkpoint_rolled_back_with_its_page_is_not_saved(
    pg_engine: Engine, migrated_schema: str
) -> None:
    """The caller's transaction decides: a failed page leaves no checkpoint behind."""
    wh = warehouse_of(pg_engine, migrated_schema)
    key = {"warehouse": wh, "site_id": SITE, "entity": get_entity("orders")}
    with pytest.raises(RuntimeError), pg_engine.begin() as conn:
        state.save_progress(conn, run_id=None, next_page=9, sort="", **key)  # type: ignore[arg-type]
        raise RuntimeError("upsert failed")
    with pg_engine.connect() as conn:
        assert state.get_state(conn, **key) is None


def test_fail_stale_runs_marks_dead_and_old_runs_failed(
    pg_engine: Engine, migrated_schema: str
) -> None:
    wh = warehouse_of(pg_engine, migrated_schema)
    key = {"warehouse": wh, "site_id": SITE, "entity": get_entity("skus")}
    with pg_engine.begin() as conn:
        live = state.start_run(conn, mode="scan", **key)
        dead = state.start_run(conn, mode="scan", **key)
        old = state.start_run(conn, mode="scan", **key)
        conn.execute(
            text(f'update "{migrated_schema}"._sync_runs set pid = 2147483000 where run_id = :r'),
            {"r": dead},
        )
        conn.execute(
            text(f"update \"{migrated_schema}\"._sync_runs set started_at = now() - interval '7 "
                 "hours' where run_id = :r"),
            {"r": old},
        )  # fmt: skip
        assert state.fail_stale_runs(conn, older_than=timedelta(hours=6), **key) == 2
    statuses = {r: _run_row(pg_engine, migrated_schema, r)["status"] for r in (live, dead, old)}
    assert statuses == {live: "running", dead: "failed", old: "failed"}
    assert "is gone" in _run_row(pg_engine, migrated_schema, dead)["error"]


def test_last_runs_lists_last_success_and_live_row_counts(
    pg_engine: Engine, migrated_schema: str
) -> None:
    schema = migrated_schema
    wh = warehouse_of(pg_engine, schema)
    with pg_engine.begin() as conn:
        conn.execute(
            text(
                f'insert into "{schema}".customers (site_id, id, _raw, _synced_at, _deleted_at)'
                " values (42, 1, '{}', now(), null), (42, 2, '{}', now(), null),"
                " (42, 3, '{}', now(), now()), (7, 1, '{}', now(), null)"
            )
        )
        ok = state.start_run(conn, warehouse=wh, site_id=42, entity=CUSTOMERS, mode="full")
        state.finish_run(conn, warehouse=wh, run_id=ok, status="succeeded", inserted=3)
        bad = state.start_run(conn, warehouse=wh, site_id=42, entity=CUSTOMERS, mode="scan")
        state.finish_run(conn, warehouse=wh, run_id=bad, status="failed", error="boom")
        listing = last_runs(conn, warehouse=wh)
    by_key = {(s.site_id, s.entity): s for s in listing}
    assert list(by_key) == [(7, "customers"), (42, "customers")]
    c42 = by_key[(42, "customers")]
    assert (c42.rows, c42.deleted_rows) == (2, 1)
    assert c42.last_success is not None and c42.last_success["inserted"] == 3
    assert c42.last_success_at is not None
    assert (c42.last_run_status, c42.last_error) == ("failed", "boom")
    assert (by_key[(7, "customers")].rows, by_key[(7, "customers")].last_success_at) == (1, None)
