"""A malformed setting stops every command at start with one line naming the variable and
exit status 2, and fails a Dagster step once, without retries."""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import Engine

from dagster_project.defs.assets import ENTITY_ASSETS, asset_key
from dagster_project.defs.partitions import SITE_PARTITIONS
from dagster_project.defs.resources import pelcro_from_env, warehouse_from_env
from pelcro_sync.cli.main import main

BIN = Path(sys.executable).with_name("pelcro-sync")
BAD = [
    ("PELCRO_MAX_DELETE_SHARE", "abc", "PELCRO_MAX_DELETE_SHARE must be a share between 0 and 1"),
    ("PELCRO_RATE_LIMIT", "-5", "PELCRO_RATE_LIMIT must be requests per minute"),
    ("DATABASE_URL", "garbage", "DATABASE_URL is not a URL"),
    ("PELCRO_RECONCILE_WINDOW", "soon", "PELCRO_RECONCILE_WINDOW must be a duration"),
    ("PELCRO_MARTS_SCHEMA", "Marts!", "PELCRO_MARTS_SCHEMA must be a lowercase Postgres"),
    ("PELCRO_DEBUG", "maybe", "PELCRO_DEBUG must be 1 or 0"),
]
BAD_IDS = [name for name, _, _ in BAD]
# Every command and subcommand, with arguments it would otherwise accept.
COMMANDS = [
    ["check"],
    ["migrate"],
    ["sync", "customers"],
    ["status"],
    ["sandbox", "--port", "0"],
    ["demo"],
    ["dev"],
    ["oauth", "url"],
    ["oauth", "exchange", "CODE"],
    ["webhooks", "serve", "--port", "0"],
    ["webhooks", "apply"],
]


@pytest.fixture
def bare(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No Pelcro setting in the environment and no .env file in the working directory."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("PELCRO_")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("DATABASE_URL", raising=False)


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
@pytest.mark.parametrize(("name", "value", "message"), BAD, ids=BAD_IDS)
def test_every_command_stops_at_start_with_exit_2(
    bare: None, monkeypatch, capsys, command: list[str], name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        main(command)
    out, err = capsys.readouterr()
    assert exited.value.code == 2, (out, err)
    assert err.strip().splitlines() == [err.strip()] and err.startswith(f"error: {message}")
    assert out == ""  # nothing ran: no banner, no table, no server line


def test_help_still_works_with_a_bad_setting(bare: None, monkeypatch, capsys) -> None:
    monkeypatch.setenv("PELCRO_RATE_LIMIT", "-5")
    main(["sync", "--help"])
    assert "--full" in capsys.readouterr().out


def test_the_installed_command_exits_2_with_one_line(tmp_path: Path) -> None:
    """The same through the real entry point, in a process of its own."""
    env = {"PATH": "/usr/bin:/bin", "PELCRO_MAX_DELETE_SHARE": "abc"}
    done = subprocess.run(
        [str(BIN), "status"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done
    assert done.stderr.strip() == (
        "error: PELCRO_MAX_DELETE_SHARE must be a share between 0 and 1 (0.1 is 10 %); got 'abc'"
    )


# -- Dagster ------------------------------------------------------------------------------


@pytest.fixture
def deployment(
    monkeypatch: pytest.MonkeyPatch, make_sandbox, pg_url: str, pg_engine: Engine
) -> Iterator[str]:
    """A deployment pointed at a small sandbox; yields its first site."""
    running = make_sandbox(customers=30)
    schema = f"bad_{uuid.uuid4().hex[:8]}"
    for var in ("PELCRO_ACCESS_TOKEN", "PELCRO_SITE_ID", "PELCRO_MAX_DELETE_SHARE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PELCRO_API_KEY", running.api_key)
    monkeypatch.setenv("PELCRO_BASE_URL", running.base_url)
    monkeypatch.setenv("PELCRO_RATE_LIMIT", "6000")  # no GET /account probe
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("PELCRO_SCHEMA", schema)
    yield str(running.site_ids[0])
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [BAD[0], BAD[1], BAD[2]],
    ids=BAD_IDS[:3],
)
def test_a_dagster_step_fails_once_without_retries(
    deployment: str, monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(SITE_PARTITIONS.name, [deployment])
    result = dg.materialize(
        [asset for asset in ENTITY_ASSETS if asset.key == asset_key("plans")],
        resources={"pelcro": pelcro_from_env(), "warehouse": warehouse_from_env()},
        partition_key=deployment,
        instance=instance,
        raise_on_error=False,
    )
    events = [e.event_type_value for e in result.all_events]
    assert not result.success
    # A step failure (which run retries skip), not a run that failed before its steps.
    assert events.count("STEP_FAILURE") == 1 and "STEP_UP_FOR_RETRY" not in events, events
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    data = failure.step_failure_data
    assert data.user_failure_data is not None
    assert (data.user_failure_data.description or "").startswith(message)
