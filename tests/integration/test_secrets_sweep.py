"""Issue 6, secrets: run everything a user runs with known, distinctive key, token, client
secret and webhook secret values, then search everything the runs produced for them.

Runs: the CLI as subprocesses (check, sync full and fast, status, the shared Postgres budget,
injected faults with --debug, a key revoked mid-run, a revoked key with --debug, another
account's site, a site not in the account, oauth url / exchange (and a refused exchange),
syncs on the OAuth token and on an expired one, webhooks serve receiving signed and forged
events, webhooks apply), Dagster materializations on a sqlite instance in a temporary
DAGSTER_HOME (one failing on a revoked key), and the demo on an embedded Postgres in a
temporary PELCRO_DATA_DIR.

Searched: every captured stdout/stderr, every log record of the test process, every file
under the temporary folders (Dagster storage, the embedded cluster's data files and logs, the
subprocesses' TMPDIR with their budget files), budget files in the system temp folder, every
file of the project tree modified during the test, and every text, varchar, json(b) and
array column of every table of the test database (entity schemas, `pelcro_budget`) and of
the demo's embedded warehouse. The one intended appearance, the line `oauth exchange` prints,
is checked and then left out.
"""

import io
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import httpx
import pytest
from rich.console import Console
from sqlalchemy import Engine, text

from pelcro_sandbox.auth import jwt_like
from pelcro_sandbox.sandbox import MAIN_ACCOUNT
from pelcro_sandbox.webhooks import deliver
from pelcro_sync.warehouse import embedded
from tests.integration.secrets_helpers import (
    SKIP_TREE,
    Needles,
    Sweep,
    distinctive,
    libpq,
    wait_for,
)
from tests.integration.signal_helpers import ctrl_c_reaches_children

PROJECT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).with_name("pelcro-sync"))
REDIRECT = "http://127.0.0.1/oauth/callback"
CLEARED = (
    "PELCRO_API_KEY", "PELCRO_ACCESS_TOKEN", "PELCRO_ACCESS_TOKEN_EXPIRES_AT", "PELCRO_SITE_ID",
    "PELCRO_BASE_URL", "PELCRO_OAUTH_URL", "PELCRO_CLIENT_ID", "PELCRO_CLIENT_SECRET",
    "PELCRO_REDIRECT_URI", "PELCRO_WEBHOOK_SECRET", "PELCRO_RATE_LIMIT", "PELCRO_BUDGET_URL",
    "PELCRO_SCHEMA", "DATABASE_URL", "PELCRO_ACCOUNTS", "PELCRO_DEBUG", "PELCRO_DATA_DIR",
)  # fmt: skip


class Runs:
    """Runs the CLI as a user would and keeps every stdout and stderr for the sweep."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.streams: list[tuple[str, str]] = []

    def environ(self, **overrides: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in CLEARED}
        env.update(self.env)
        for name, value in overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def keep(self, label: str, stdout: str, stderr: str) -> None:
        self.streams += [(f"{label} stdout", stdout), (f"{label} stderr", stderr)]

    def __call__(self, label: str, *args: str, ok: bool | None = True,
                 **env: str | None) -> subprocess.CompletedProcess[str]:  # fmt: skip
        done = subprocess.run(
            [CLI, *args], env=self.environ(**env), cwd=PROJECT, capture_output=True,
            text=True, timeout=90,
        )  # fmt: skip
        self.keep(label, done.stdout, done.stderr)
        failed = (label, done.returncode, done.stdout, done.stderr)
        assert ok is None or (done.returncode == 0) is ok, failed
        return done

    def many(self, *calls: tuple[str, tuple[str, ...], bool | None, dict[str, str | None]]) -> None:
        """Independent runs at once (label, args, ok, env): the suite stays quick."""
        procs = [(label, ok, self.popen(*args, **env)) for label, args, ok, env in calls]
        for label, ok, proc in procs:
            out, err = proc.communicate(timeout=90)
            self.keep(label, out, err)
            assert ok is None or (proc.returncode == 0) is ok, (label, proc.returncode, out, err)

    def popen(self, *args: str, **env: str | None) -> subprocess.Popen[str]:
        with ctrl_c_reaches_children():
            return subprocess.Popen(
                [CLI, *args], env=self.environ(**env), cwd=PROJECT, text=True,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )  # fmt: skip


class Records(logging.Handler):
    """Every log record of the test process, rendered with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception as exc:  # a record that cannot render is itself worth seeing
            self.lines.append(f"unrenderable record {record.msg!r}: {exc}")


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="pss-"))  # short: the embedded socket path is limited
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def records() -> Iterator[Records]:
    handler = Records()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


def _drop(pg_engine: Engine, *schemas: str) -> None:
    with pg_engine.begin() as conn:
        for schema in schemas:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_no_secret_reaches_any_output_log_file_or_column(
    make_sandbox, pg_url: str, pg_engine: Engine, workdir: Path, records: Records,
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    started = time.time() - 1  # mtime granularity
    running = make_sandbox(customers=80)
    sb = running.sandbox
    site, other_site = running.site_ids[0], sb.other_site_id
    key = sb.create_key(value=distinctive("pstKEY"))
    revoked_key = sb.create_key(value=distinctive("pstREVOKED"))
    client_secret = distinctive("pstCLIENTSECRET")
    client = sb.oauth.register(MAIN_ACCOUNT, REDIRECT, client_secret=client_secret)
    webhook_secret = distinctive("pstWHSEC")
    schema, dg_schema = f"ss_{uuid.uuid4().hex[:8]}", f"ssdg_{uuid.uuid4().hex[:8]}"
    tmp = workdir / "tmp"
    tmp.mkdir()
    runs = Runs(
        {
            "PELCRO_API_KEY": key,
            "PELCRO_BASE_URL": running.base_url,
            "PELCRO_OAUTH_URL": running.oauth_url,
            "DATABASE_URL": pg_url,
            "PELCRO_SCHEMA": schema,
            "TMPDIR": str(tmp),
            "PYTHONUNBUFFERED": "1",
            "COLUMNS": "150",
        }
    )
    try:
        token = _cli_runs(runs, running, key, revoked_key, client, webhook_secret, site,
                          other_site)  # fmt: skip
        dagster_home = workdir / "dagster"
        _dagster_runs(monkeypatch, running, key, revoked_key, pg_url, dg_schema, dagster_home,
                      site)  # fmt: skip
        demo_out, demo_key, demo_url = _demo_run(monkeypatch, workdir / "data")
        needles = Needles()
        needles.add("api key", key)
        needles.add("revoked api key", revoked_key)
        needles.add("access token", token, core=token.split(".", 1)[1])
        needles.add("client secret", client_secret,
                    extra={"basic": _basic(client.client_id, client_secret)})  # fmt: skip
        needles.add("webhook secret", webhook_secret)
        sweep = Sweep(needles)

        # The one intended appearance: `oauth exchange` prints the token once, on stdout.
        intended = f"PELCRO_ACCESS_TOKEN={token}"
        holding = [(label, line) for label, out in runs.streams for line in out.splitlines()
                   if token in line]  # fmt: skip
        assert holding == [("oauth exchange stdout", intended)], holding
        for label, out in runs.streams:
            if label == "oauth exchange stdout":
                out = "\n".join(line for line in out.splitlines() if line != intended)
            sweep.text(f"CLI {label}", out)
        captured = capfd.readouterr()
        sweep.text("test process stdout", captured.out)
        sweep.text("test process stderr", captured.err)
        sweep.text("log records of the test process", "\n".join(records.lines), kind="logs")

        sweep.tree(workdir)  # Dagster storage, the demo's cluster, the subprocesses' TMPDIR
        assert sweep.places.get("files", 0) > 0
        assert list(tmp.glob("pelcro-sync-budget-*")), "the CLI runs left no budget file"
        sweep.tree(Path(tempfile.gettempdir()), since=started, pattern="pelcro-sync-budget-*")
        before_tree = sweep.places["files"]
        sweep.tree(PROJECT, since=started, skip=SKIP_TREE)
        project_files = sweep.places["files"] - before_tree
        sweep.database(libpq(pg_url), label="warehouse")
        with pg_engine.connect() as conn:
            budget_rows = conn.execute(text("SELECT count(*) FROM pelcro_budget.budget")).scalar()
        assert budget_rows, "the PELCRO_BUDGET_URL=warehouse run stored no budget row"

        # The demo: its sandbox key is printed by design in "Next steps" (not a real secret);
        # it must be nowhere else, neither in its output nor in its embedded warehouse.
        demo_needles = Needles()
        demo_needles.add("demo sandbox key", demo_key, core=demo_key.split(".", 1)[1])
        demo_sweep = Sweep(demo_needles)
        shown = [line for line in demo_out.splitlines() if demo_key in line]
        assert len(shown) == 1 and "PELCRO_API_KEY=" in shown[0], shown
        demo_sweep.text("demo console", demo_out.replace(shown[0], ""))
        demo_sweep.text("demo log records", "\n".join(records.lines), kind="logs")
        demo_sweep.text("demo process output", captured.out + captured.err)
        demo_sweep.database(libpq(demo_url), label="demo warehouse")
        embedded.stop(pgdata=workdir / "data" / "postgres")
        demo_sweep.tree(workdir / "data")

        places = {k: sweep.places.get(k, 0) + demo_sweep.places.get(k, 0)
                  for k in {*sweep.places, *demo_sweep.places}}  # fmt: skip
        print(f"\nsecrets sweep: searched {places} (project files touched: {project_files}); "
              f"{len(sweep.hits) + len(demo_sweep.hits)} occurrence(s) found")  # fmt: skip
        sweep.hits += demo_sweep.hits
        sweep.assert_clean()
    finally:
        _drop(pg_engine, schema, dg_schema)
        embedded.stop(pgdata=workdir / "data" / "postgres")


def _basic(client_id: str, secret: str) -> str:
    import base64

    return base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _cli_runs(runs: Runs, running, key: str, revoked_key: str, client, webhook_secret: str,
              site: int, other_site: int) -> str:  # fmt: skip
    """Every CLI path; returns the OAuth access token obtained with `oauth exchange`."""
    sb = running.sandbox
    runs("check", "check")
    sb.reset_stats()
    runs("sync full", "sync", "--full")
    full_requests = sb.stats.requests
    sb.mutate(updates={"customers": {sb.truth("customers", site)[0]["id"]: {"first_name": "Ada"}}})
    sb.reset_stats()
    runs("sync fast", "sync")
    assert sb.stats.requests < full_requests
    # Failing runs too: another account's site, a site that does not exist.
    runs.many(
        ("status", ("status",), True, {}),
        ("sync shared budget", ("sync", "plans"), True, {"PELCRO_BUDGET_URL": "warehouse"}),
        ("sync other account's site", ("sync", "--site", str(other_site)), False, {}),
        ("check unknown site", ("check",), False, {"PELCRO_SITE_ID": "999999"}),
    )
    sb.set_faults(html_502=0.15, http_503=0.1, drop=0.05, truncated=0.05)
    runs("--debug sync with faults", "--debug", "sync", "--full", "customers", "plans", ok=None)
    sb.set_faults(html_502=0, http_503=0, drop=0, truncated=0)

    # A key revoked mid-run: the 401 path while pages are in flight.
    sb.set_latency(0.05)
    sb.reset_stats()
    proc = runs.popen("sync", "--full", PELCRO_API_KEY=revoked_key)
    assert wait_for(lambda: sb.stats.requests >= 8, timeout=30)
    sb.revoke_key(revoked_key)
    out, err = proc.communicate(timeout=90)
    runs.keep("sync key revoked mid-run", out, err)
    assert proc.returncode != 0, (out, err)
    sb.set_latency(0.0)

    # OAuth: the authorize URL, a code, the exchange (prints the token once), a refused one.
    oauth_env = {
        "PELCRO_CLIENT_ID": client.client_id,
        "PELCRO_CLIENT_SECRET": client.client_secret,
        "PELCRO_REDIRECT_URI": REDIRECT,
    }
    url = runs("oauth url", "oauth", "url", **oauth_env).stdout.strip()
    location = httpx.get(url, follow_redirects=False).headers["location"]
    code = re.search(r"[?&]code=([^&]+)", location).group(1)
    exchanged = runs("oauth exchange", "oauth", "exchange", code, **oauth_env)
    token = exchanged.stdout.strip().split("PELCRO_ACCESS_TOKEN=", 1)[1]
    on_token = {"PELCRO_API_KEY": None, "PELCRO_ACCESS_TOKEN": token}
    runs.many(
        ("check on token", ("check",), True, on_token),
        ("sync on token", ("sync", "plans"), True, on_token),
        ("oauth exchange reused code", ("oauth", "exchange", code), False, oauth_env),
        ("--debug oauth exchange bad code", ("--debug", "oauth", "exchange", "x"), False,
         oauth_env),
    )  # fmt: skip
    sb.expire_tokens()
    revoked = {"PELCRO_API_KEY": revoked_key}
    runs.many(
        ("sync on expired token", ("sync", "plans"), False, on_token),
        ("--debug sync on expired token", ("--debug", "sync", "plans"), False, on_token),
        ("--debug sync revoked key", ("--debug", "sync", "plans"), False, revoked),
    )
    debug = dict(runs.streams)["--debug sync revoked key stderr"]
    assert "Traceback" in debug, debug

    # Webhooks: serve, receive signed and forged deliveries, then apply.
    proc = runs.popen("webhooks", "serve", "--port", "0", PELCRO_WEBHOOK_SECRET=webhook_secret)
    first = proc.stdout.readline()
    match = re.search(r"on (http://\S+)", first)
    assert match, (first, proc.poll())
    result = sb.mutate(updates={"customers": {sb.truth("customers", site)[1]["id"]: {}}})
    events = sb.webhooks.events_for(result)
    assert set(deliver(match.group(1), webhook_secret, events)) == {200}
    assert set(deliver(match.group(1), webhook_secret, events, forge=True)) == {401}
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    runs.keep("webhooks serve", first + out, err)
    runs("webhooks apply", "webhooks", "apply", PELCRO_WEBHOOK_SECRET=webhook_secret,
         PELCRO_SITE_ID=str(site))  # fmt: skip
    return token


def _dagster_runs(monkeypatch: pytest.MonkeyPatch, running, key: str, revoked_key: str,
                  pg_url: str, schema: str, home: Path, site: int) -> None:  # fmt: skip
    """Materializations on a persistent sqlite instance in DAGSTER_HOME, configured from the
    environment as definitions.py is; the last one on a revoked key fails."""
    from dagster_project.defs.assets import ENTITY_ASSETS, asset_key
    from dagster_project.defs.checks import ENTITY_CHECKS
    from dagster_project.defs.partitions import SITE_PARTITIONS
    from dagster_project.defs.resources import pelcro_from_env, warehouse_from_env

    for var in CLEARED:
        monkeypatch.delenv(var, raising=False)
    home.mkdir()
    (home / "dagster.yaml").touch()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("PELCRO_API_KEY", key)
    monkeypatch.setenv("PELCRO_BASE_URL", running.base_url)
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("PELCRO_SCHEMA", schema)
    chosen = {asset_key(n) for n in ("customers", "plans", "subscriptions")}
    assets = [a for a in ENTITY_ASSETS if a.key in chosen]
    checks = [c for c in ENTITY_CHECKS if {k.asset_key for k in c.check_keys} <= chosen]
    with dg.DagsterInstance.get() as instance:
        assert str(home) in str(instance.root_directory)
        instance.add_dynamic_partitions(SITE_PARTITIONS.name, [str(site)])

        def materialize(**kw):
            return dg.materialize(
                [*assets, *checks],
                resources={"pelcro": pelcro_from_env(), "warehouse": warehouse_from_env()},
                partition_key=str(site), instance=instance, raise_on_error=False, **kw,
            )  # fmt: skip

        assert materialize().success
        assert materialize(tags={"pelcro/mode": "fast"}).success
        monkeypatch.setenv("PELCRO_API_KEY", revoked_key)  # revoked by the CLI runs
        failed = materialize()
        assert not failed.success


def _demo_run(monkeypatch: pytest.MonkeyPatch, data: Path) -> tuple[str, str, str]:
    """The demo in this process on an embedded Postgres of its own; (output, key, url)."""
    from pelcro_sync.cli.demo import DEMO_SEED, run_demo

    for var in CLEARED:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PELCRO_DATA_DIR", str(data))
    output = io.StringIO()
    run_demo(customers=60, console=Console(file=output, width=160))
    demo_key = jwt_like(f"{DEMO_SEED}|main")  # the demo sandbox's own key (seeded)
    return output.getvalue(), demo_key, embedded.embedded_url()


def test_a_rotated_key_continues_from_the_same_state(
    make_sandbox, pg_url: str, pg_engine: Engine, fresh_schema: str
) -> None:
    """README "Keeping keys safe": create a new key, switch, check, revoke the old one. Sync
    state is keyed by site and entity, not by key, so the next run takes the fast path from
    where the old key left off; the old key is refused."""
    from pelcro_sync.cli.commands import check, sync
    from pelcro_sync.config import Secret, Settings
    from pelcro_sync.entities import ENTITIES
    from pelcro_sync.errors import PelcroSyncError

    running = make_sandbox(customers=300)
    sb = running.sandbox
    old, new = (sb.create_key(value=distinctive(p)) for p in ("pstOLD", "pstNEW"))
    console = Console(file=io.StringIO(), width=150)

    def settings(key: str) -> Settings:
        return Settings(api_key=Secret(key), base_url=running.base_url, database_url=pg_url,
                        schema=fresh_schema)  # fmt: skip

    def run(key: str) -> int:
        sb.reset_stats()
        sync(settings(key), entities=ENTITIES, sites=[], full=False, workers=4, console=console)
        return sb.stats.requests

    def state() -> list[tuple]:
        with pg_engine.connect() as conn:
            return conn.execute(text(
                f'SELECT site_id, entity, last_complete_scan_at, max_id_seen '
                f'FROM "{fresh_schema}"._sync_state ORDER BY 1, 2'
            )).all()  # fmt: skip

    first = run(old)
    before = state()
    assert len(before) == len(ENTITIES) * len(running.site_ids)
    check(settings(new), console=console)  # rotate: switch to the new key, check, revoke old
    sb.revoke_key(old)
    second = run(new)
    assert state() == before  # nothing rescanned: the same rows of state carried on
    assert second < first / 3, (first, second)
    with pytest.raises(PelcroSyncError):
        run(old)
    console.file.seek(0)
    assert old not in console.file.read() and new not in console.file.read()


def test_the_sweep_finds_planted_secrets(pg_url: str, pg_engine: Engine, fresh_schema: str,
                                         workdir: Path) -> None:  # fmt: skip
    """The sweep itself works: raw, base64 and truncated copies are found, in text, files
    and a jsonb column, and reported with the secret masked."""
    import base64

    secret = distinctive("pstPLANTED")
    needles = Needles()
    needles.add("planted", secret)
    sweep = Sweep(needles)
    sweep.text("stream", f"error: Bearer {secret[:30]}… refused")
    (workdir / "f.bin").write_bytes(b"\x00" + base64.b64encode(secret.encode()) + b"\x00")
    sweep.tree(workdir)
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{fresh_schema}"')
        conn.exec_driver_sql(f'CREATE TABLE "{fresh_schema}".t (j jsonb, s text)')
        conn.execute(text(f'INSERT INTO "{fresh_schema}".t VALUES (:j, NULL)'),
                     {"j": f'{{"k": "{secret}"}}'})  # fmt: skip
    sweep.database(libpq(pg_url), label="db")
    where = {(h.where.split(" ", 1)[0], h.form) for h in sweep.hits}
    assert ("stream", "core16") in where
    assert (str(workdir / "f.bin"), "base64") in where
    assert ("db", "raw") in where
    assert all(secret not in str(h) for h in sweep.hits)
    with pytest.raises(AssertionError, match="secret occurrence"):
        sweep.assert_clean()
