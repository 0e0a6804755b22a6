"""Secrets stay out of Dagster's own logs (issue 21, item 5).

Real `dagster asset materialize` processes on a sqlite instance in a temporary DAGSTER_HOME,
set up as `make dev` sets up its own (deploy/dagster-dev.yaml: `pelcro_sync`'s loggers
managed by Dagster, as in deploy/dagster.yaml). Three runs: one failing on a key revoked
mid-run after retry warnings, one whose warehouse refuses the connection, and a probe that
logs secrets through a `pelcro_sync` logger as a library bug might. Searched for the API key
and the database password, in every encoding a leak could take: every run and event record
of the instance's event log storage, every file under DAGSTER_HOME (the sqlite storages and
the compute logs of each step) and each run's stdout and stderr.
"""

import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pytest
import yaml
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from pelcro_sync.cli.commands import prepare_dev_home
from tests.integration.secrets_helpers import Needles, Sweep, distinctive, wait_for
from tests.integration.test_cli import clean_env

ROOT = Path(__file__).resolve().parents[2]
DAGSTER = str(Path(sys.executable).with_name("dagster"))
PROJECT_DEFS = ("-m", "dagster_project.definitions")
PROBE_DEFS = ("-f", str(Path(__file__).with_name("dagster_log_probe.py")))
RETRY_WARNING = "HTTP 503; retrying in"


@dataclass
class Finished:
    """What one `dagster asset materialize` process left: its output and its run."""

    returncode: int
    stdout: str
    stderr: str
    run: dg.DagsterRun
    events: list[dg.EventLogEntry] = field(default_factory=list)

    def messages(self) -> list[str]:
        return [e.user_message for e in self.events]

    def failure(self) -> str:
        return "\n".join(
            dg.serialize_value(e.dagster_event.event_specific_data)
            for e in self.events
            if e.dagster_event is not None and e.dagster_event.is_failure
        )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    prepare_dev_home(home)
    return home


@pytest.fixture
def schema(pg_engine: Engine) -> Iterator[str]:
    name = f"dglog_{uuid.uuid4().hex[:8]}"
    yield name
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def test_dev_and_production_instances_route_pelcro_sync_logs_alike(home: Path) -> None:
    """`make dev`, `make prod-local` (a copy of deploy/dagster.yaml) and the Helm values hand
    `pelcro_sync`'s loggers to Dagster; a dagster.yaml of the user's own is kept."""
    prod = yaml.safe_load((ROOT / "deploy" / "dagster.yaml").read_text())["python_logs"]
    helm = yaml.safe_load((ROOT / "deploy" / "helm-values.yaml").read_text())["pythonLogs"]
    assert prod == {"managed_python_loggers": ["pelcro_sync"]}
    assert helm == {"managedPythonLoggers": ["pelcro_sync"]}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert list(instance.managed_python_loggers) == ["pelcro_sync"]
        assert instance.python_log_level is None  # Dagster's own DEBUG events stay
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    prepare_dev_home(home)
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"


def test_a_run_failing_on_a_key_revoked_mid_run_leaves_no_secret(
    make_sandbox, pg_url: str, schema: str, home: Path
) -> None:
    running = make_sandbox(customers=400)
    sb = running.sandbox
    key, password = sb.create_key(value=distinctive("pdlKEY")), distinctive("pdlPASSWORD")
    site = str(running.site_ids[0])
    # A 503 makes pelcro_sync.api.client warn and retry; each request's latency comes before
    # the key is checked, so the key revoked on the first 503 fails its retry.
    sb.set_latency(0.2)
    sb.set_faults(http_503=0.3)
    proc = _launch(home, PROJECT_DEFS, "pelcro/customers", partition=site,
                   PELCRO_API_KEY=key, PELCRO_BASE_URL=running.base_url,
                   DATABASE_URL=_with_password(pg_url, password), PELCRO_SCHEMA=schema)  # fmt: skip
    assert wait_for(lambda: sb.stats.faults.get("http_503", 0) >= 1, timeout=120), proc.poll()
    sb.revoke_key(key)
    done = _finish(home, proc)

    assert done.returncode != 0 and done.run.status == dg.DagsterRunStatus.FAILURE
    assert "401" in done.failure()
    # Routed: the client's warnings are in the event log, and on stderr as Dagster logs.
    assert any(RETRY_WARNING in m for m in done.messages()), done.messages()
    assert RETRY_WARNING in done.stderr
    assert any(RETRY_WARNING in text for text in _compute_logs(home, done.run.run_id))
    _assert_clean(home, done, key=key, password=password)


def test_a_run_whose_warehouse_refuses_leaves_no_secret(
    make_sandbox, pg_url: str, schema: str, home: Path
) -> None:
    running = make_sandbox(customers=60)
    key, password = running.sandbox.create_key(value=distinctive("pdlKEY")), distinctive("pdlPW")
    missing = f"pdl_missing_{uuid.uuid4().hex[:8]}"
    url = make_url(_with_password(pg_url, password)).set(database=missing)
    proc = _launch(home, PROJECT_DEFS, "pelcro/plans", partition=str(running.site_ids[0]),
                   PELCRO_API_KEY=key, PELCRO_BASE_URL=running.base_url,
                   DATABASE_URL=url.render_as_string(hide_password=False),
                   PELCRO_SCHEMA=schema)  # fmt: skip
    done = _finish(home, proc)

    assert done.returncode != 0 and done.run.status == dg.DagsterRunStatus.FAILURE
    assert missing in done.failure()  # the database's error, with the URL's password masked
    _assert_clean(home, done, key=key, password=password)


def test_secrets_a_pelcro_sync_logger_emits_in_a_run_are_masked_everywhere(home: Path) -> None:
    """Whatever a `pelcro_sync` logger is handed inside a run worker that loaded the
    project's definitions is masked before any handler sees it: the event log, the console
    (the run's stderr) and the compute logs hold `***`, tracebacks included."""
    key, password = distinctive("pdlPROBEKEY"), distinctive("pdlPROBEPW")
    done = _finish(home, _launch(home, PROBE_DEFS, "log_probe", PROBE_KEY=key,
                                 PROBE_PASSWORD=password))  # fmt: skip

    assert done.returncode == 0, done.stderr[-3000:]
    refused = [m for m in done.messages() if "probe refused" in m]
    assert refused == [
        "probe refused: Authorization: Bearer *** via postgresql://u:***@db.example/w"
    ]
    caught = [m for m in done.messages() if "probe caught an error" in m]
    assert len(caught) == 1 and "api_key=***" in caught[0] and "Traceback" in caught[0]
    assert refused[0] in done.stderr and "api_key=***" in done.stderr
    assert any(refused[0] in text for text in _compute_logs(home, done.run.run_id))
    _assert_clean(home, done, key=key, password=password)


def _launch(home: Path, target: tuple[str, ...], select: str, *, partition: str | None = None,
            **env: str) -> subprocess.Popen[str]:  # fmt: skip
    """`dagster asset materialize` as an operator runs it, on the instance in `home`."""
    if partition is not None:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            instance.add_dynamic_partitions("pelcro_site", [partition])
    args = [DAGSTER, "asset", "materialize", *target, "--select", select]
    args += ["--partition", partition] if partition is not None else []
    return subprocess.Popen(
        args, env=clean_env(DAGSTER_HOME=str(home), **env), cwd=home, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _finish(home: Path, proc: subprocess.Popen[str]) -> Finished:
    try:
        stdout, stderr = proc.communicate(timeout=180)
    finally:
        proc.kill()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs(limit=1)
        assert runs, f"no run was started:\n{stderr[-3000:]}"
        run = runs[0]
        events = list(instance.all_logs(run.run_id))
    return Finished(proc.returncode, stdout, stderr, run, events)


def _compute_logs(home: Path, run_id: str) -> list[str]:
    """The captured stdout/stderr files of the run's steps (the local compute log manager)."""
    files = [p for p in (home / "storage" / run_id).rglob("*") if p.is_file()]
    assert files, f"no compute logs under {home / 'storage' / run_id}"
    return [p.read_text(errors="replace") for p in files]


def _assert_clean(home: Path, done: Finished, *, key: str, password: str) -> None:
    needles = Needles()
    needles.add("api key", key)
    needles.add("database password", password)
    sweep = Sweep(needles)
    sweep.text("run stdout", done.stdout)
    sweep.text("run stderr", done.stderr)
    sweep.text("run record", dg.serialize_value(done.run), kind="events")
    for event in done.events:
        sweep.text(f"event {event.dagster_event_type}", dg.serialize_value(event), kind="events")
    sweep.tree(home)  # the sqlite run and event log storages, and the compute logs
    assert sweep.places["events"] > 3 and sweep.places["files"] >= 3, sweep.places
    sweep.assert_clean()


def _with_password(url: str, password: str) -> str:
    """The test database's URL with a password (the local server trusts, so it is ignored)."""
    return make_url(url).set(password=password).render_as_string(hide_password=False)
