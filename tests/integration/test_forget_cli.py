"""`pelcro-sync forget` as an operator runs it: a real process, the sandbox, Postgres; exit
statuses and one-line errors."""

import getpass
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

BIN = Path(sys.executable).with_name("pelcro-sync")


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PELCRO_", "DATABASE_URL"))}
    return subprocess.run(
        [str(BIN), *args],
        env={**keep, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent,  # no .env here
    )


def _env(sandbox, pg_url: str, pg_engine: Engine) -> Iterator[dict[str, str]]:
    schema = f"fgc_{uuid.uuid4().hex[:8]}"
    yield {
        "PELCRO_BASE_URL": sandbox.base_url,
        "PELCRO_API_KEY": sandbox.api_key,
        "DATABASE_URL": pg_url,
        "PELCRO_SCHEMA": schema,
    }
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def env(sandbox, pg_url: str, pg_engine: Engine) -> Iterator[dict[str, str]]:
    yield from _env(sandbox, pg_url, pg_engine)


@pytest.fixture(scope="module")
def synced_env(sandbox, pg_url: str, pg_engine: Engine) -> Iterator[dict[str, str]]:
    """Customers of the first site synced once: the refused requests below change nothing."""
    for env in _env(sandbox, pg_url, pg_engine):
        site = str(sandbox.site_ids[0])
        assert _run("sync", "customers", "--site", site, env=env).returncode == 0
        yield env


def _erasures(engine: Engine, schema: str) -> list:
    with engine.connect() as conn:
        return list(conn.execute(text(f'SELECT * FROM "{schema}"._erasures ORDER BY erased_at')))


def _email(engine: Engine, schema: str, customer_id: int) -> list:
    with engine.connect() as conn:
        query = f"SELECT email, _raw->>'email' FROM \"{schema}\".customers WHERE id = :i"
        return [tuple(r) for r in conn.execute(text(query), {"i": customer_id})]


def test_forget_end_to_end(sandbox, env: dict[str, str], pg_engine: Engine) -> None:
    site = str(sandbox.site_ids[0])
    schema = env["PELCRO_SCHEMA"]
    assert (
        _run("sync", "customers", "addresses", "sources", "--site", site, env=env).returncode == 0
    )
    customer_id = sandbox.sandbox.truth("customers", int(site))[0]["id"]
    assert _email(pg_engine, schema, customer_id)[0][0]

    done = _run("forget", "--customer", str(customer_id), "--by", "privacy desk", env=env)
    assert done.returncode == 0, done.stderr
    assert f"erased customer {customer_id}'s personal data on site {site}" in done.stdout
    assert "customers" in done.stdout and done.stderr == ""
    assert _email(pg_engine, schema, customer_id) == [(None, None)]

    again = _run("forget", "--customer", str(customer_id), "--site", site, env=env)
    assert again.returncode == 0 and ": 0 rows changed" in again.stdout
    first, second = _erasures(pg_engine, schema)
    assert (first.erased_by, first.site_id, second.erased_by, second.site_id) == (
        "privacy desk",
        None,
        getpass.getuser(),
        int(site),
    )
    assert first.rows_changed >= 3 and second.rows_changed == 0


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["--customer", "424242"], 1, "error: customer 424242 is not in the warehouse"),
        (["--customer", "FIRST", "--site", "999"], 1, "on site 999; nothing was erased"),
        (["--customer", "abc"], 2, "'abc' is not a valid integer range"),
        ([], 2, "Missing option '--customer'"),
        (["--customer", "0"], 2, "--customer"),
        (["--customer", "FIRST", "--by", " "], 2, "--by"),
    ],
    ids=["unknown", "not-on-that-site", "not-a-number", "missing", "zero", "blank-by"],
)
def test_bad_requests_end_with_one_line_and_change_nothing(
    sandbox, synced_env: dict[str, str], pg_engine: Engine, args: list[str], status: int,
    message: str,
) -> None:  # fmt: skip
    env = synced_env
    first = str(sandbox.sandbox.truth("customers", sandbox.site_ids[0])[0]["id"])
    result = _run("forget", *[first if a == "FIRST" else a for a in args], env=env)
    assert result.returncode == status
    # One line says what is wrong (click's usage errors add a usage hint around it).
    [line] = [ln for ln in result.stderr.splitlines() if ln.lower().startswith("error")]
    assert message in line
    assert "Traceback" not in result.stderr
    assert _erasures(pg_engine, env["PELCRO_SCHEMA"]) == []
    assert _email(pg_engine, env["PELCRO_SCHEMA"], int(first))[0][0]


def test_forget_on_a_warehouse_never_migrated_says_so(env: dict[str, str]) -> None:
    result = _run("forget", "--customer", "5001", env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("error: customer 5001 is not in the warehouse: schema")
    assert len(result.stderr.strip().splitlines()) == 1
