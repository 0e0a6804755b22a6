"""The embedded Postgres starts on demand (also as root), is reused across calls and processes,
and stops."""

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from pelcro_sync.warehouse import embedded

PRINT_URL = "from pelcro_sync.warehouse.embedded import embedded_url; print(embedded_url())"


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private PELCRO_DATA_DIR (short path: unix socket names are limited to ~107 bytes)."""
    base = Path(tempfile.mkdtemp(prefix="pelcro-emb-"))
    monkeypatch.setenv("PELCRO_DATA_DIR", str(base))
    try:
        yield base
    finally:
        embedded.stop()
        shutil.rmtree(base, ignore_errors=True)


def _query(url: str) -> tuple:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(text("select current_database(), 6 * 7")).one())
    finally:
        engine.dispose()


def test_starts_serves_reuses_and_stops(data_dir: Path) -> None:
    url = embedded.embedded_url()
    assert url.startswith("postgresql+psycopg://postgres@/pelcro?host=")
    assert str(data_dir / "postgres") in url and (data_dir / "postgres" / "PG_VERSION").exists()
    assert _query(url) == ("pelcro", 42)

    started = time.monotonic()
    assert embedded.embedded_url() == url
    assert time.monotonic() - started < 0.5  # reuse: no initdb, no pg_ctl

    assert embedded.stop() is True
    assert embedded.stop() is False
    with pytest.raises(OperationalError):
        _query(url)


def test_another_process_reuses_the_running_server(data_dir: Path) -> None:
    url = embedded.embedded_url()
    pid_before = (data_dir / "postgres" / "postmaster.pid").read_text().split()[0]
    out = subprocess.run([sys.executable, "-c", PRINT_URL], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == url
    assert (data_dir / "postgres" / "postmaster.pid").read_text().split()[0] == pid_before


def test_concurrent_cold_starts_share_one_server(data_dir: Path) -> None:
    """Two processes racing on an empty data folder: one initialises, both get the same URL."""
    procs = [
        subprocess.Popen([sys.executable, "-c", PRINT_URL], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    urls = {proc.communicate(timeout=120)[0].strip() for proc in procs}
    assert all(proc.returncode == 0 for proc in procs)
    assert len(urls) == 1
    assert _query(urls.pop()) == ("pelcro", 42)


def test_restart_after_stop_keeps_the_data(data_dir: Path) -> None:
    url = embedded.embedded_url()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("create table kept (x int)"))
        conn.execute(text("insert into kept values (1)"))
    engine.dispose()
    embedded.stop()
    url = embedded.embedded_url()
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("select x from kept")).scalar_one() == 1
    engine.dispose()
