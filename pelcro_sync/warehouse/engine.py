"""The warehouse URL and engine: normalised, masked for display, checked with one-line errors."""

import re
from urllib.parse import unquote

from psycopg import sql
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from pelcro_sync.config import Settings, parse_database_url
from pelcro_sync.redact import redact
from pelcro_sync.warehouse import sql as q
from pelcro_sync.warehouse.errors import WarehouseError

DRIVER = "postgresql+psycopg"
CONNECT_TIMEOUT_S = 10


def normalize_url(raw: str, *, name: str = "DATABASE_URL") -> str:
    """`raw` as a `postgresql+psycopg://` URL; ConfigError (password masked) when it is not one."""
    return parse_database_url(raw, name=name)


def resolve_database_url(settings: Settings) -> str:
    """The warehouse URL: DATABASE_URL normalised, or the embedded Postgres when it is unset."""
    if settings.database_url:
        return normalize_url(settings.database_url)
    from pelcro_sync.warehouse.embedded import embedded_url  # starts a server: only on demand

    return embedded_url()


def make_engine(url: str, *, pool_size: int = 5, echo: bool = False) -> Engine:
    """An engine that survives a restarted server (pre-ping) and fails fast when none answers."""
    return create_engine(
        normalize_url(url),
        pool_pre_ping=True,
        pool_size=pool_size,
        # A scan holds its lock's connection and two writers' (`sync.SCAN_WRITERS`), and
        # the CLI runs four scans at once: room for all of them and their short reads.
        max_overflow=pool_size * 3,
        pool_recycle=1800,
        echo=echo,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "pelcro-sync"},
    )


def describe(url: str | URL) -> str:
    """`url` with its password masked, for `pelcro-sync check` and logs."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except (ArgumentError, ValueError):
        return redact(str(url))
    return unquote(parsed.render_as_string(hide_password=True))  # a socket path reads as one


def check_connection(engine: Engine) -> str:
    """The server version; a one-line WarehouseError when the server does not answer."""
    try:
        with engine.connect() as conn:
            return str(q.scalar(conn, sql.SQL("SHOW server_version")))
    except SQLAlchemyError as exc:
        raise connection_error(exc, url=engine.url) from None


def connection_error(exc: BaseException, *, url: str | URL) -> WarehouseError:
    """A one-line WarehouseError for a failed connection, naming the likely cause."""
    where = describe(url)
    raw = str(exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc)
    lines = [ln.strip() for ln in raw.splitlines() if ln.strip() and not ln.startswith("(")]
    detail = redact(lines[-1] if lines else type(exc).__name__)
    # libpq prefixes the server's own reason ("FATAL:  database "x" does not exist") with noise.
    detail = re.split(r"FATAL:\s+", detail)[-1]
    lower = raw.lower()
    if "connection refused" in lower or "no such file or directory" in lower:
        hint = "connection refused: is Postgres running there?"
    elif "does not exist" in lower:
        hint = f"{detail} (create it, or point DATABASE_URL elsewhere)"
    elif "password authentication failed" in lower:
        hint = "password authentication failed (check the user and password in DATABASE_URL)"
    elif "timeout" in lower or "timed out" in lower:
        hint = f"no answer within {CONNECT_TIMEOUT_S} s"
    else:
        hint = detail
    return WarehouseError(f"cannot connect to the warehouse at {where}: {hint}")
