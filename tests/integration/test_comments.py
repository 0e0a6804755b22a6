"""After `migrate`, every table and column of the warehouse schema carries the data
dictionary's COMMENT, kept across re-runs, restored when changed, at the cost of one query."""

import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.engine import make_url

from pelcro_sync import dictionary
from pelcro_sync.entities import get_entity
from pelcro_sync.warehouse import comments, migrate

RELATIONS = text("""
select k.relname, obj_description(k.oid, 'pg_class')
from pg_class k
where k.relnamespace = to_regnamespace(:schema) and k.relkind in ('r', 'p', 'v', 'm', 'f')
""")
COLUMNS = text("""
select k.relname, a.attname, col_description(k.oid, a.attnum)
from pg_class k join pg_attribute a on a.attrelid = k.oid
where k.relnamespace = to_regnamespace(:schema) and k.relkind in ('r', 'p', 'v', 'm', 'f')
    and a.attnum > 0 and not a.attisdropped
""")


def _comments(engine: Engine, schema: str) -> dict[tuple[str, str | None], str | None]:
    with engine.connect() as conn:
        found = {(t, None): d for t, d in conn.execute(RELATIONS, {"schema": schema})}
        found |= {(t, c): d for t, c, d in conn.execute(COLUMNS, {"schema": schema})}
    return found


def test_every_table_and_column_has_a_comment_after_migrate(
    pg_engine: Engine, migrated_schema: str
) -> None:
    found = _comments(pg_engine, migrated_schema)
    assert len({t for t, _ in found}) >= 18 + 6  # entities and bookkeeping, alembic_version
    assert [key for key, text_ in found.items() if not (text_ or "").strip()] == []
    customers = get_entity("customers")
    assert found[("customers", None)] == dictionary.table(customers)
    assert found[("customers", "email")] == dictionary.columns(customers)["email"]
    assert found[("_sync_runs", "pid")] == comments.BOOKKEEPING["_sync_runs"]["pid"]


def test_migrate_again_keeps_the_comments_and_alembic_sees_no_drift(
    pg_url: str, pg_engine: Engine, migrated_schema: str
) -> None:
    before = _comments(pg_engine, migrated_schema)
    assert migrate.upgrade(pg_url, schema=migrated_schema) == []
    assert _comments(pg_engine, migrated_schema) == before
    migrate.check(pg_url, schema=migrated_schema)  # comments are not schema drift


def test_a_changed_or_dropped_comment_is_restored_by_the_next_migrate(
    pg_url: str, pg_engine: Engine, migrated_schema: str
) -> None:
    before = _comments(pg_engine, migrated_schema)
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f"comment on column \"{migrated_schema}\".plans.amount is 'stale'")
        conn.exec_driver_sql(f'comment on table "{migrated_schema}".refunds is null')
        assert len(comments.pending(conn, schema=migrated_schema)) == 2
    migrate.upgrade(pg_url, schema=migrated_schema)
    assert _comments(pg_engine, migrated_schema) == before


def test_an_up_to_date_schema_costs_one_query_and_writes_nothing(
    pg_engine: Engine, migrated_schema: str
) -> None:
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    with pg_engine.connect() as conn:
        event.listen(conn, "before_cursor_execute", record)
        assert comments.apply(conn, schema=migrated_schema) == 0
        event.remove(conn, "before_cursor_execute", record)
    assert len(statements) == 1 and "jsonb_to_recordset" in statements[0]


def test_history_tables_and_views_are_described_and_missing_columns_skipped(
    pg_url: str, pg_engine: Engine, migrated_schema: str
) -> None:
    """`<entity>_history` and the status view are described when they exist; columns the
    dictionary knows but the table lacks are skipped, not an error."""
    schema = migrated_schema
    with pg_engine.begin() as conn:
        # A cut-down stand-in for the real ones (when a migration has made them already).
        conn.exec_driver_sql(f'drop table if exists "{schema}".subscriptions_history cascade')
        conn.exec_driver_sql(
            f'create table "{schema}".subscriptions_history (site_id bigint, id bigint, '
            "_valid_from timestamptz, _valid_to timestamptz, status text, _raw jsonb)"
        )
        conn.exec_driver_sql(
            f'create view "{schema}".subscription_status_changes as select site_id, '
            f'id as subscription_id, status as to_status from "{schema}".subscriptions_history'
        )
        assert comments.apply(conn, schema=schema) == 6 + 1 + 3 + 1
    found = _comments(pg_engine, schema)
    subscriptions = get_entity("subscriptions")
    assert found[("subscriptions_history", None)] == dictionary.history_table(subscriptions)
    assert found[("subscriptions_history", "_valid_from")] == dictionary.HISTORY["_valid_from"]
    assert found[("subscriptions_history", "_raw")] == dictionary.HISTORY["_raw"]
    assert found[("subscriptions_history", "status")] == dictionary.describe(
        subscriptions, "status"
    )
    view = comments.BOOKKEEPING["subscription_status_changes"]
    assert found[("subscription_status_changes", None)] == view[None]
    assert found[("subscription_status_changes", "to_status")] == view["to_status"]
    assert [key for key, text_ in found.items() if not text_] == []


def test_quotes_percent_and_dollars_survive(
    pg_engine: Engine, migrated_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Postgres quotes the texts (format's %L): any wording is safe."""
    awkward = 'It\'s 100% "right"; $$ -- not a comment; \\n stays'
    monkeypatch.setitem(dictionary.TABLES, "coupons", awkward)
    with pg_engine.begin() as conn:
        assert comments.apply(conn, schema=migrated_schema) == 1
    found = _comments(pg_engine, migrated_schema)
    assert found[("coupons", None)] == dictionary.table(get_entity("coupons"))
    assert found[("coupons", None)].startswith(awkward)


def test_a_schema_that_does_not_exist_is_left_alone(pg_engine: Engine) -> None:
    with pg_engine.begin() as conn:
        assert comments.pending(conn, schema="no_such_schema") == []


def test_apply_runs_in_the_callers_transaction(pg_engine: Engine, migrated_schema: str) -> None:
    with pg_engine.connect() as conn:
        conn.exec_driver_sql(f'comment on table "{migrated_schema}".orders is null')
        conn.commit()
        _apply_then_roll_back(conn, migrated_schema)
        assert len(comments.pending(conn, schema=migrated_schema)) == 1


def _apply_then_roll_back(conn: Connection, schema: str) -> None:
    assert comments.apply(conn, schema=schema) == 1
    assert comments.pending(conn, schema=schema) == []
    conn.rollback()


def test_a_role_that_does_not_own_the_tables_logs_and_goes_on(
    pg_url: str, pg_engine: Engine, migrated_schema: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A sync running as a lesser role must not fail over documentation."""
    role = f"reader_{uuid.uuid4().hex[:8]}"
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f"comment on column \"{migrated_schema}\".plans.amount is 'stale'")
        conn.exec_driver_sql(f'create role "{role}" login')
    try:
        as_role = make_url(pg_url).set(username=role).render_as_string(hide_password=False)
        with caplog.at_level(logging.WARNING, logger="pelcro_sync.warehouse.comments"):
            assert comments.apply_to(as_role, schema=migrated_schema) == 0
        assert "does not own its tables" in caplog.text
        assert _comments(pg_engine, migrated_schema)[("plans", "amount")] == "stale"
    finally:
        with pg_engine.begin() as conn:
            conn.exec_driver_sql(f'drop role "{role}"')


def test_two_processes_commenting_at_once_write_each_comment_once(
    pg_url: str, pg_engine: Engine, migrated_schema: str
) -> None:
    """Two syncs starting together after an upgrade: one writes the comments, the other
    waits for it and finds nothing left to write."""
    with pg_engine.begin() as conn:
        script = comments.pending(conn, schema=migrated_schema)  # [] : all written
        for table in ("customers", "plans", "_sync_runs"):
            conn.exec_driver_sql(f'comment on table "{migrated_schema}"."{table}" is null')
        assert len(comments.pending(conn, schema=migrated_schema)) == 3
    assert script == []
    key = {"key": migrated_schema}
    with pg_engine.connect() as holder, ThreadPoolExecutor(2) as pool:
        # Both find the same 3 comments to write, then queue on the lock the test holds.
        holder.execute(text("select pg_advisory_lock(hashtext(:key))"), key)
        runs = [pool.submit(comments.apply_to, pg_url, schema=migrated_schema) for _ in "ab"]
        _wait_for_waiters(holder, 2)
        holder.execute(text("select pg_advisory_unlock(hashtext(:key))"), key)
        assert sorted(run.result(timeout=60) for run in runs) == [0, 3]
    found = _comments(pg_engine, migrated_schema)
    assert [key for key, text_ in found.items() if not text_] == []


def _wait_for_waiters(conn: Connection, count: int) -> None:
    waiting = text(
        "select count(*) from pg_locks where locktype = 'advisory' and not granted"
        " and database = (select oid from pg_database where datname = current_database())"
    )
    deadline = time.monotonic() + 30
    while conn.execute(waiting).scalar_one() < count:
        assert time.monotonic() < deadline, "the appliers never queued on the lock"
        conn.rollback()  # a fresh snapshot of pg_locks
        time.sleep(0.05)
