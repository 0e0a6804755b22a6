"""The `pelcro-sync` command as an operator runs it: a real process, the sandbox, Postgres."""

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from pelcro_sync.cli.main import cli
from tests.integration.signal_helpers import ctrl_c_reaches_children

BIN = Path(sys.executable).with_name("pelcro-sync")


def clean_env(**overrides: str) -> dict[str, str]:
    """This process's environment without any Pelcro or warehouse setting, plus `overrides`."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PELCRO_", "DATABASE_URL"))}
    return {**keep, **overrides}


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN), *args],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent,  # no .env here
    )


@pytest.fixture
def env(sandbox, pg_url: str, pg_engine: Engine):
    schema = f"cli_{uuid.uuid4().hex[:8]}"
    yield {
        "PELCRO_BASE_URL": sandbox.base_url,
        "PELCRO_API_KEY": sandbox.api_key,
        "DATABASE_URL": pg_url,
        "PELCRO_SCHEMA": schema,
    }
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def count(engine: Engine, schema: str, table: str) -> int:
    with engine.connect() as conn:
        exists = conn.execute(text("SELECT to_regclass(:t)"), {"t": f"{schema}.{table}"}).scalar()
        if exists is None:
            return 0
        return conn.execute(text(f'SELECT count(*) FROM "{schema}"."{table}"')).scalar_one()


def test_check_prints_account_sites_and_rate_limit_without_the_key(sandbox, env):
    result = run("check", env=env)
    assert result.returncode == 0, result.stderr
    assert "Acme Publishing" in result.stdout
    for site in sandbox.site_ids:
        assert str(site) in result.stdout
    assert "requests/minute" in result.stdout
    assert "API key (PELCRO_API_KEY)" in result.stdout
    assert sandbox.api_key not in result.stdout + result.stderr


def test_sync_one_entity_shows_a_summary_and_a_second_run_changes_nothing(
    sandbox, env, pg_engine: Engine
):
    site = str(sandbox.site_ids[0])
    expected = len(sandbox.sandbox.truth("customers", int(site)))
    first = run("sync", "customers", "--site", site, env=env)
    assert first.returncode == 0, first.stderr
    assert "pelcro-sync summary" in first.stdout
    assert f"{expected:,} records read, {expected:,} rows written" in first.stdout
    # Without --full the second run is the fast path: one page, newest first, nothing new.
    second = run("sync", "customers", "--site", site, env=env)
    assert second.returncode == 0, second.stderr
    assert f"{min(expected, 100):,} records read, 0 rows written" in second.stdout
    assert " fast " in second.stdout
    full = run("sync", "--full", "customers", "--site", site, env=env)
    assert full.returncode == 0, full.stderr
    assert f"{expected:,} records read, 0 rows written" in full.stdout
    assert count(pg_engine, env["PELCRO_SCHEMA"], "customers") == expected
    status = run("status", env=env)
    assert status.returncode == 0 and "customers" in status.stdout and "succeeded" in status.stdout


def test_a_wrong_site_id_ends_with_one_line_and_writes_nothing(env, pg_engine: Engine):
    result = run("sync", "customers", "--site", "123456", env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "site 123456 is not a site of this Pelcro account" in lines[0]
    assert count(pg_engine, env["PELCRO_SCHEMA"], "customers") == 0


def test_a_revoked_key_ends_with_the_401_explanation_and_leaves_the_warehouse(
    make_sandbox, env, pg_engine: Engine
):
    running = make_sandbox(customers=100)
    env = {**env, "PELCRO_BASE_URL": running.base_url, "PELCRO_API_KEY": running.api_key}
    assert run("sync", "plans", env=env).returncode == 0
    before = count(pg_engine, env["PELCRO_SCHEMA"], "plans")
    running.sandbox.revoke_key(running.api_key)
    result = run("sync", "plans", env=env)
    assert result.returncode == 1
    assert "401" in result.stderr and "revoked" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert running.api_key not in result.stdout + result.stderr
    assert count(pg_engine, env["PELCRO_SCHEMA"], "plans") == before > 0


def test_an_unreachable_database_ends_with_one_line(env):
    env = {**env, "DATABASE_URL": "postgresql://postgres:hunter2@127.0.0.1:1/nowhere"}
    result = run("sync", "customers", env=env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: cannot connect to the warehouse at "
        "postgresql+psycopg://postgres:***@127.0.0.1:1/nowhere: connection refused: "
        "is Postgres running there?"
    ]
    assert "hunter2" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PELCRO_SITE_ID", "abc", "PELCRO_SITE_ID must be a site id"),
        ("PELCRO_BASE_URL", "www.pelcro.com/api", "PELCRO_BASE_URL must be an http(s) URL"),
        ("PELCRO_API_KEY", "", "no Pelcro credentials"),
    ],
    ids=["site-id-not-a-number", "base-url-without-scheme", "no-key-no-token"],
)
def test_bad_settings_end_with_one_line(env, variable, value, message):
    result = run("check", env={**env, variable: value})
    assert result.returncode == 2  # a setting missing or malformed, as for a bad option
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr


def test_every_command_has_help_naming_the_variables_it_reads():
    commands = ["check", "migrate", "sync", "status", "sandbox", "demo", "dev", "oauth"]
    assert set(commands) <= set(cli.commands)
    for name in ["check", "migrate", "sync", "status"]:
        assert "DATABASE_URL" in (cli.commands[name].help or "") or "PELCRO_" in (
            cli.commands[name].help or ""
        )
    result = run("sync", "--help", env={})
    assert result.returncode == 0
    assert "--site" in result.stdout and "PELCRO_API_KEY" in result.stdout


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_webhooks_serve_stops_cleanly_on_a_stop_signal(env, sig: signal.Signals):
    """A container stop sends SIGTERM, a terminal Ctrl-C: either ends the receiver with its
    server closed and exit status 0, no traceback."""
    with ctrl_c_reaches_children():
        proc = subprocess.Popen(
            [str(BIN), "webhooks", "serve", "--port", "0"],
            env=clean_env(**env, PELCRO_WEBHOOK_SECRET="whsec-cli-test"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parent,
        )  # fmt: skip
    try:
        first = proc.stdout.readline()  # type: ignore[union-attr]
        assert "receiving Pelcro webhooks on http://" in first, (first, proc.poll())
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, (proc.returncode, out, err)
    assert "Traceback" not in err, err
