"""Bad input refused cleanly or stored intact. Settings: one line on stderr, nothing
stored. Data planted in the sandbox: every value lands whole in `_raw`, nothing is spliced
into SQL. (Webhook input is covered in tests/integration/test_webhooks.py.)"""

import json
import uuid

import pytest
from sqlalchemy import Engine, text

from tests.faults import tally
from tests.faults.helpers import fast_client, live_raw, sync_all
from tests.integration.test_cli import run

NASTY = {
    "first_name": "a\x00b",  # NUL: Postgres text refuses it
    "last_name": "x\ud800y",  # a lone surrogate
    "email": "'); DROP TABLE customers; --",
    "metadata": {"it's": 1, "a.b": 2, "with space": 3, '"; DROP': 4, "big": 2**70},
    "organization": 123456789012345678901234567890,  # beyond 64 bits, in a bigint column
    "created_at": "0000-01-01T00:00:00Z",
    "last_login_at": "10000-01-01T00:00:00Z",
}


def _truth(running, site: int) -> dict[int, object]:
    # Through the stdlib, exact for surrogates and big integers (as the client reads them).
    return {r["id"]: json.loads(json.dumps(r)) for r in running.sandbox.truth("customers", site)}


def test_hostile_values_land_intact_in_raw_and_nothing_is_spliced_into_sql(
    make_sandbox, pg_engine: Engine, schema: str
):
    running = make_sandbox(customers=100, sites=1, huge_value_bytes=2_000_000)
    site = running.site_ids[0]
    ids = sorted(_truth(running, site))
    running.sandbox.mutate(updates={"customers": {ids[i]: {k: v} for i, (k, v)
                                                  in enumerate(NASTY.items())}})  # fmt: skip
    tally.record(bad_inputs=len(NASTY) + 1)
    with fast_client(running) as client:
        (result,) = sync_all(client, engine=pg_engine, schema=schema, sites=[site],
                             entities=["customers"])  # fmt: skip
    assert result.status == "succeeded"
    got, want = live_raw(pg_engine, schema, "customers", site), _truth(running, site)
    lost = [i for i in want if _unescape(got.get(i)) != want[i]]
    tally.record(rows_compared=len(want), rows_lost=len(lost))
    assert not lost, [(want[i], got.get(i)) for i in lost[:2]]
    with pg_engine.connect() as conn:
        tables = conn.execute(text(f'SELECT count(*) FROM "{schema}".customers')).scalar()
        huge = conn.execute(text(f'SELECT max(length(_raw::text)) FROM "{schema}".customers'))
        assert tables == len(want) and huge.scalar() > 2_000_000


def _unescape(raw: object) -> object:
    """Postgres stores neither NUL nor lone surrogates: normalize writes them as the visible
    escapes `\\u0000` / `\\ud800` (its documented text policy); undo that to compare."""
    if raw is None:
        return None
    dumped = json.dumps(raw).replace("\\\\u0000", "\\u0000").replace("\\\\ud800", "\\ud800")
    return json.loads(dumped)


SETTINGS = {
    "empty-key": dict(PELCRO_API_KEY=""),
    "malformed-key": dict(PELCRO_API_KEY="not a key!"),
    "site-not-a-number": dict(PELCRO_SITE_ID="forty-two"),
    "site-of-another-account": dict(PELCRO_SITE_ID="{other_site}"),
    "base-url-without-scheme": dict(PELCRO_BASE_URL="{host_only}"),
    "database-url-unparsable": dict(DATABASE_URL="postgres:/::nonsense"),
    "database-url-pointing-nowhere": dict(DATABASE_URL="postgresql://postgres@127.0.0.1:1/x"),
}


@pytest.mark.parametrize("bad", SETTINGS.values(), ids=SETTINGS.keys())
def test_bad_settings_are_refused_in_one_line_and_nothing_is_stored(
    sandbox, pg_url: str, pg_engine: Engine, bad: dict[str, str]
):
    schema = f"bad_{uuid.uuid4().hex[:8]}"
    env = {"PELCRO_BASE_URL": sandbox.base_url, "PELCRO_API_KEY": sandbox.api_key,
           "DATABASE_URL": pg_url, "PELCRO_SCHEMA": schema}  # fmt: skip
    fill = {"other_site": str(sandbox.sandbox.other_site_id),
            "host_only": sandbox.base_url.split("://", 1)[1]}  # fmt: skip
    env.update({k: v.format(**fill) for k, v in bad.items()})
    result = run("sync", "customers", env=env)
    tally.record(bad_inputs=1)
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and lines, result
    assert lines[-1].startswith("error:") and "Traceback" not in result.stderr, result.stderr
    assert sandbox.api_key not in result.stderr + result.stdout
    with pg_engine.connect() as conn:
        stored = conn.execute(text("SELECT to_regclass(:t)"), {"t": f"{schema}.customers"})
        assert stored.scalar() is None or _rows(conn, schema) == 0


def _rows(conn, schema: str) -> int:
    return conn.execute(text(f'SELECT count(*) FROM "{schema}".customers')).scalar_one()
