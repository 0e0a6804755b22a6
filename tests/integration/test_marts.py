"""The marts, built by real dbt from a small fixed warehouse (tests/integration/marts_dataset),
against expectations computed by hand: every row of every mart, exactly."""

import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from pelcro_sync.cli.marts import MartsError, run_build, run_dbt
from pelcro_sync.warehouse.migrate import upgrade
from tests.integration import marts_dataset as data

MODELS = ("mrr_monthly", "mrr_movements", "mrr_movements_summary", "churn_monthly",
          "revenue_daily", "customer_360")  # fmt: skip


def _same(actual: Any, expected: Any) -> bool:
    """Numbers compared exactly up to numeric's division digits (1e-12 of a minor unit)."""
    if isinstance(actual, Decimal | int) and isinstance(expected, Fraction | int):
        return abs(Fraction(actual) - Fraction(expected)) < Fraction(1, 10**12)
    return actual == expected


def _assert_rows(actual: dict, expected: dict) -> None:
    assert sorted(actual, key=str) == sorted(expected, key=str)
    for key, values in expected.items():
        got = actual[key]
        assert all(_same(a, e) for a, e in zip(got, values, strict=True)), (key, got, values)


@pytest.fixture(scope="module")
def built(pg_url: str, pg_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """The dataset in a fresh migrated schema, and the marts built from it in `<schema>_marts`."""
    schema = f"m_{uuid.uuid4().hex[:8]}"
    marts = f"{schema}_marts"
    upgrade(pg_url, schema=schema)
    with pg_engine.begin() as conn:
        data.insert(conn, schema=schema)
    lines: list[str] = []
    target = Path(tmp_path_factory.mktemp("dbt")) / "target"
    report = run_build(pg_url, schema=schema, marts=marts, line=lines.append, target_path=target)
    yield {"schema": schema, "marts": marts, "report": report, "lines": lines, "target": target}
    with pg_engine.begin() as conn:
        for name in (marts, f"{marts}_staging", schema):
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def _query(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql)))


def _offset(month: Any) -> int:
    """Months before the current one."""
    current = data.month(0)
    return (current.year - month.year) * 12 + current.month - month.month


def test_build_runs_every_model_and_test(built: dict) -> None:
    report = built["report"]
    assert report.models == 16 and report.tests >= 50 and not report.failures
    lines = "\n".join(built["lines"])
    for model in MODELS:
        assert model in lines  # one progress line per model


def test_mrr_monthly(built: dict, pg_engine: Engine) -> None:
    rows = _query(
        pg_engine,
        f"""
        SELECT site_id, subscription_id, month, customer_id, plan_id, currency, status,
               quantity, mrr, reconstructed FROM "{built["marts"]}".mrr_monthly""",
    )
    actual = {(r[0], r[1], _offset(r[2])): tuple(r[3:]) for r in rows}
    assert len(rows) == len(actual)
    _assert_rows(actual, data.MRR_MONTHLY)


def test_mrr_movements(built: dict, pg_engine: Engine) -> None:
    rows = _query(
        pg_engine,
        f"""SELECT site_id, customer_id, currency, month, mrr, previous_mrr,
                                       movement FROM "{built["marts"]}".mrr_movements""",
    )
    actual = {(r[0], r[1], r[2], _offset(r[3])): tuple(r[4:]) for r in rows}
    _assert_rows(actual, data.MOVEMENTS)


def test_mrr_movements_summary_adds_up(built: dict, pg_engine: Engine) -> None:
    rows = _query(
        pg_engine,
        f"""
        SELECT site_id, currency, month, starting_mrr, new_mrr, expansion_mrr, contraction_mrr,
               churned_mrr, reactivation_mrr, ending_mrr
        FROM "{built["marts"]}".mrr_movements_summary""",
    )
    actual = {(r[0], r[1], _offset(r[2])): tuple(r[3:]) for r in rows}
    _assert_rows(actual, data.SUMMARY)


def test_churn_monthly(built: dict, pg_engine: Engine) -> None:
    rows = _query(
        pg_engine,
        f"""
        SELECT site_id, month, customers_start, churned, churned_voluntary, churned_involuntary,
               churned_other, churn_rate FROM "{built["marts"]}".churn_monthly""",
    )
    actual = {(r[0], _offset(r[1])): tuple(r[2:]) for r in rows}
    _assert_rows(actual, data.CHURN)


def test_revenue_daily_takes_the_invoice_currency(built: dict, pg_engine: Engine) -> None:
    rows = _query(
        pg_engine,
        f"""SELECT site_id, day, currency, charged, refunded, net
                                 FROM "{built["marts"]}".revenue_daily""",
    )
    _assert_rows({(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}, data.REVENUE)


def test_customer_360(built: dict, pg_engine: Engine) -> None:
    rows = _query(
        pg_engine,
        f"""
        SELECT site_id, customer_id, first_subscribed_at, active_subscriptions, subscriptions,
               currency, current_mrr, charged, refunded, net, open_invoices, paid_invoices,
               last_failed_payment_at FROM "{built["marts"]}".customer_360""",
    )
    _assert_rows({(r[0], r[1]): tuple(r[2:]) for r in rows}, data.CUSTOMER_360)


def test_every_mart_table_and_column_has_a_comment(built: dict, pg_engine: Engine) -> None:
    rows = _query(
        pg_engine,
        f"""
        SELECT c.relname, a.attname, obj_description(c.oid, 'pg_class'),
               col_description(c.oid, a.attnum)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = '{built["marts"]}' AND c.relkind = 'r'""",
    )
    assert {r[0] for r in rows} == set(MODELS)
    assert [r[:2] for r in rows if not r[2] or not r[3]] == []


def test_a_failing_test_fails_the_build_in_one_line(
    built: dict, pg_url: str, pg_engine: Engine, tmp_path: Path
) -> None:
    """A duplicated history version breaks a uniqueness test: the build raises one line."""
    schema = built["schema"]
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(
            f'CREATE TABLE "{schema}".keep AS SELECT * FROM "{schema}".subscriptions_history'
            f' WHERE id = 26; ALTER TABLE "{schema}".subscriptions_history'
            f" DROP CONSTRAINT subscriptions_history_pkey;"
            f' DROP INDEX "{schema}".ux_subscriptions_history_open;'
            f' INSERT INTO "{schema}".subscriptions_history SELECT * FROM "{schema}".keep'
        )
    with pytest.raises(MartsError) as failed:
        run_build(pg_url, schema=schema, marts=f"{schema}_broken", line=lambda _: None,
                  target_path=tmp_path / "target")  # fmt: skip
    message = str(failed.value)
    assert "\n" not in message and "unique_combination_stg_pelcro__subscription_versions" in message
    with pg_engine.begin() as conn:
        for name in (f"{schema}_broken", f"{schema}_broken_staging"):
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def test_dbt_docs_generate_documents_every_mart_column(built: dict, pg_url: str) -> None:
    target = built["target"]
    result = run_dbt(["docs", "generate"], pg_url, schema=built["schema"],
                     marts=built["marts"], target_path=target)  # fmt: skip
    assert result.success
    catalog = json.loads((target / "catalog.json").read_text())
    manifest = json.loads((target / "manifest.json").read_text())
    for model in MODELS:
        node = catalog["nodes"][f"model.pelcro_analytics.{model}"]
        documented = manifest["nodes"][f"model.pelcro_analytics.{model}"]["columns"]
        assert set(node["columns"]) == set(documented)  # every column of the table, documented
        assert node["metadata"]["comment"]  # persisted: the table's COMMENT
