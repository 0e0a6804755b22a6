"""Schema drift from the API (a new field, a field changing type, a field disappearing,
`metadata` switching between object and array): the sync goes on, keeps every value in
`_raw`, and reports the drift in its summary and its Dagster metadata."""

from rich.console import Console
from sqlalchemy import Engine, text

from pelcro_sandbox.dataset import REMOVED
from pelcro_sync.cli.progress import summary_table
from pelcro_sync.transform import drift
from tests.faults import tally
from tests.faults.helpers import assert_converged, fast_client, sync_all, truth


def test_drifted_records_land_whole_in_raw_and_the_drift_is_reported(
    make_sandbox, pg_engine: Engine, schema: str
):
    running = make_sandbox(customers=100, sites=1)
    site = running.site_ids[0]
    a, b, c, d = sorted(truth(running, "customers", site))[:4]
    # The sandbox, like Pelcro, already sends a few undeclared fields (object_id,
    # x_language...) and omits relations unless asked: drift is measured against that.
    with fast_client(running) as client:
        (baseline,) = sync_all(client, engine=pg_engine, schema=schema, sites=[site],
                               entities=["customers"])  # fmt: skip
    running.sandbox.mutate(updates={"customers": {
        a: {"loyalty_tier": "gold", "metadata": []},  # new field; PHP's empty "object"
        b: {"last_login_at": "yesterday", "email_confirm": "sort of"},  # types changed
        c: {"email": REMOVED},  # the API stopped sending it
        d: {"metadata": ["crm", {"nested": [1, 2]}]},
    }})  # fmt: skip
    tally.record(bad_inputs=4)
    with fast_client(running) as client:
        (result,) = sync_all(client, engine=pg_engine, schema=schema, sites=[site],
                             entities=["customers"])  # fmt: skip
    assert result.status == "succeeded"
    assert_converged(pg_engine, schema, running, ["customers"], [site])
    new = result.drift.new_fields - baseline.drift.new_fields
    missing = result.drift.missing_fields - baseline.drift.missing_fields
    assert new == {"loyalty_tier": 1} and missing == {"email": 1}
    assert result.type_errors["last_login_at"] == 1 and result.type_errors["email_confirm"] == 1
    with pg_engine.connect() as conn:
        typed = conn.execute(
            text(
                f'SELECT id, email, last_login_at, metadata FROM "{schema}".customers'
                " WHERE id IN (:a, :b, :c, :d) ORDER BY id"
            ),
            {"a": a, "b": b, "c": c, "d": d},
        ).all()
    assert typed[1].last_login_at is None and typed[2].email is None  # null, not a guess
    assert typed[0].metadata == [] and typed[3].metadata == ["crm", {"nested": [1, 2]}]

    caption = _render(summary_table([result], []))
    assert "info: 1 entity carries fields the API docs do not list" in caption
    assert f"note: customers (site {site}): missing email" in caption
    assert "loyalty_tier" in _render(summary_table([result], [], verbose=True))
    meta = drift.metadata(result.drift, result.type_errors)
    assert "loyalty_tier" in meta["new_fields"] and "email" in meta["missing_fields"]
    assert "last_login_at (1)" in meta["drift"]


def _render(table) -> str:
    console = Console(width=200, record=True)
    console.print(table)
    return console.export_text()
