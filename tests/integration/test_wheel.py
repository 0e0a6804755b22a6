"""The wheel, installed into a fresh venv, works away from the source tree: `migrate` finds
the shipped migrations, `sandbox` serves, `demo` syncs into its embedded Postgres."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _uv() -> str:
    found = ROOT / ".tools" / "bin" / "uv"
    uv = str(found) if found.is_file() else shutil.which("uv")
    assert uv, "uv not found: run `make install`"
    return uv


def _clean_env(**extra: str) -> dict[str, str]:
    """No Pelcro setting, no virtualenv or path of this checkout: as on a fresh machine."""
    # PYTHONDONTWRITEBYTECODE goes too: each command would otherwise compile everything it
    # imports from source again (the venv holds no bytecode), a minute on a busy machine.
    drop = (
        "PELCRO_",
        "DATABASE_URL",
        "VIRTUAL_ENV",
        "PYTHONPATH",
        "UV_PROJECT_ENVIRONMENT",
        "PYTHONDONTWRITEBYTECODE",
    )
    keep = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return {**keep, "PYTHONUNBUFFERED": "1", **extra}


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 180):
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env or _clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
    return done


def _uv_offline_first(*args: str | Path, cwd: Path) -> None:
    """From uv's cache when it holds everything (make install filled it), else the index."""
    try:
        _run(_uv(), *args, "--offline", cwd=cwd)
    except AssertionError:
        _run(_uv(), *args, cwd=cwd)


@pytest.fixture(scope="module")
def venv_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the built wheel and the locked versions of its dependencies."""
    work = tmp_path_factory.mktemp("wheel")
    _uv_offline_first("build", "--wheel", "--out-dir", work / "dist", ROOT, cwd=work)
    (wheel,) = (work / "dist").glob("pelcro_sync-*.whl")
    requirements = work / "requirements.txt"
    _run(
        _uv(),
        "export",
        "--frozen",
        "--no-dev",
        "--no-emit-project",
        "--no-hashes",
        "--output-file",
        requirements,
        cwd=ROOT,
    )
    _run(_uv(), "venv", work / "venv", "--python", sys.executable, cwd=work)
    python = work / "venv" / "bin" / "python"
    _uv_offline_first("pip", "install", "--python", python, "-r", requirements, wheel, cwd=work)
    return python.parent


def test_the_packages_come_from_the_venv_and_ship_the_migrations(venv_bin: Path) -> None:
    code = (
        "import pelcro_sync, pelcro_sandbox, dagster_project;"
        "from pelcro_sync.warehouse import migrate;"
        "print(pelcro_sync.__file__, pelcro_sandbox.__file__, migrate.migrations_dir())"
    )
    lines = _run(venv_bin / "python", "-c", code, cwd=venv_bin).stdout.split()
    site = str(venv_bin.parent / "lib")
    assert all(line.startswith(site) for line in lines), lines
    assert lines[2].endswith("pelcro_sync/migrations")


@pytest.fixture
def fresh_database(pg_server_url: str) -> Iterator[str]:
    name = f"pelcro_wheel_{uuid.uuid4().hex[:8]}"
    admin = make_url(pg_server_url).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_installed_migrate_brings_a_fresh_database_to_the_latest_revision(
    venv_bin: Path, fresh_database: str, tmp_path: Path
) -> None:
    env = _clean_env(DATABASE_URL=fresh_database)
    done = _run(venv_bin / "pelcro-sync", "migrate", cwd=tmp_path, env=env)
    assert "applied" in done.stdout, done.stdout
    engine = create_engine(fresh_database)
    try:
        tables = set(inspect(engine).get_table_names(schema="pelcro"))
    finally:
        engine.dispose()
    assert {"customers", "subscriptions", "alembic_version"} <= tables
    again = _run(venv_bin / "pelcro-sync", "migrate", cwd=tmp_path, env=env)
    assert "already at the latest migration" in again.stdout


def test_installed_sandbox_serves_until_stopped(venv_bin: Path, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [str(venv_bin / "pelcro-sync"), "sandbox", "--port", "0", "--customers", "50"],
        cwd=tmp_path,
        env=_clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        details = {}
        while "api_key" not in details:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            assert line, (proc.poll(), proc.stderr.read())  # type: ignore[union-attr]
            name, _, value = line.strip().partition(": ")
            details[name] = value
        assert details["base_url"].startswith("http://127.0.0.1:")
        headers = {"Authorization": f"Bearer {details['api_key']}"}
        answer = httpx.get(details["base_url"] + "/account", headers=headers, timeout=10)
        assert answer.status_code == 200 and answer.json()["data"]["sites"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) in (0, 130)
    finally:
        proc.kill()


def test_installed_demo_syncs_into_its_embedded_postgres(venv_bin: Path) -> None:
    data = Path(tempfile.mkdtemp(prefix="pw-"))  # short: unix socket paths are limited
    env = _clean_env(PELCRO_DATA_DIR=str(data))
    try:
        done = _run(venv_bin / "pelcro-sync", "demo", "--customers", "60", cwd=data, env=env)
        assert (
            "pelcro-sync summary" in done.stdout and "Active subscriptions per plan" in done.stdout
        )
    finally:
        stop = "from pelcro_sync.warehouse import embedded; embedded.stop()"
        subprocess.run([str(venv_bin / "python"), "-c", stop], cwd=data, env=env, timeout=60)
        shutil.rmtree(data, ignore_errors=True)
