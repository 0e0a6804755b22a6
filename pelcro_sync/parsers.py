"""Setting values: text from the environment -> a typed value, or a one-line ConfigError.

Pure functions, no environment access (that is `config.py`'s alone); each message names the
variable and shows what it got, never a secret.
"""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from pelcro_sync.errors import ConfigError

DEFAULT_BASE_URL = "https://www.pelcro.com/api/v1/core"
DEFAULT_MAX_DELETE_SHARE = 0.10
DEFAULT_FRESHNESS_FAST = timedelta(hours=1)  # four fast ticks missed
DEFAULT_FRESHNESS_SCAN = timedelta(hours=26)  # a nightly scan, plus a margin


def parse_text(name: str, raw: str | None) -> str | None:
    return raw


def parse_site_ids(raw: str | None) -> tuple[int, ...]:
    if raw is None:
        return ()
    ids = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or int(part) <= 0:
            raise ConfigError(
                f"PELCRO_SITE_ID must be a site id (a positive integer) or several separated "
                f"by commas; got {part!r}"
            )
        ids.append(int(part))
    return tuple(dict.fromkeys(ids))


def parse_http_url(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL such as {DEFAULT_BASE_URL}; got {raw!r}")
    return raw.rstrip("/")


def parse_rate_limit(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) <= 0:
        raise ConfigError(
            f"PELCRO_RATE_LIMIT must be requests per minute (a positive integer); got {raw!r}"
        )
    return int(raw)


def parse_expiry(raw: str | None) -> float | None:
    """PELCRO_ACCESS_TOKEN_EXPIRES_AT as unix seconds; accepts unix seconds or ISO 8601."""
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            "PELCRO_ACCESS_TOKEN_EXPIRES_AT must be unix seconds or an ISO 8601 time such as "
            f"2030-01-31T12:00:00Z; got {raw!r}"
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def parse_schema(raw: str, *, name: str = "PELCRO_SCHEMA") -> str:
    if not raw.replace("_", "").isalnum() or raw[0].isdigit() or raw.lower() != raw:
        raise ConfigError(
            f"{name} must be a lowercase Postgres identifier (letters, digits, _); got {raw!r}"
        )
    return raw


# Spellings people paste from Heroku, libpq docs and psql; all mean Postgres through psycopg 3.
POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg3"}


def parse_database_url(raw: str, *, name: str = "DATABASE_URL") -> str:
    """`raw` as a `postgresql+psycopg://` URL; ConfigError (password masked) when it is not one."""
    # Imported here: SQLAlchemy costs ~0.1 s, and `--help` needs no URL parsed.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from pelcro_sync.redact import redact

    value = raw.strip()
    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        raise ConfigError(
            f"{name} is not a URL such as postgresql+psycopg://user@host:5432/db; "
            f"got {redact(value)!r}"
        ) from None
    if url.drivername not in POSTGRES_SCHEMES:
        raise ConfigError(
            f"{name} must be a Postgres URL (postgresql+psycopg://…); got scheme {url.drivername!r}"
        )
    return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def parse_budget_url(raw: str | None) -> str | None:
    if raw is None or raw.lower() == "warehouse":
        return raw and raw.lower()
    return parse_database_url(raw, name="PELCRO_BUDGET_URL")


def parse_duration(name: str, raw: str) -> timedelta:
    """`90m`, `6h`, `1h30m`, `45s`, `2d`: a positive duration with units."""
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhd])", raw.replace(" ", "").lower())
    whole = "".join(n + u for n, u in parts) == raw.replace(" ", "").lower()
    total = sum((timedelta(**{units[u]: float(n)}) for n, u in parts), timedelta())
    if not parts or not whole or total <= timedelta(0):
        raise ConfigError(f"{name} must be a duration such as 90m or 6h; got {raw!r}")
    return total


def format_duration(value: timedelta) -> str:
    """The shortest of `6h`, `90m`, `45s` that says `value` (to the second); `parse_duration`
    reads it back."""
    seconds = round(value.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


def parse_positive(name: str, raw: str, *, unit: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise ConfigError(f"{name} must be a positive number of {unit}; got {raw!r}")
    return value


def parse_share(raw: str | None) -> float:
    if raw is None:
        return DEFAULT_MAX_DELETE_SHARE
    try:
        share = float(raw)
    except ValueError:
        share = float("nan")
    if not 0 <= share <= 1:
        raise ConfigError(
            f"PELCRO_MAX_DELETE_SHARE must be a share between 0 and 1 (0.1 is 10 %); got {raw!r}"
        )
    return share


def parse_account_names(raw: str | None) -> tuple[str, ...]:
    """`acme, beta` → ("acme", "beta"); names are lowercase identifiers, each once."""
    names = [part.strip().lower() for part in (raw or "").split(",") if part.strip()]
    for name in names:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,30}", name):
            raise ConfigError(
                "PELCRO_ACCOUNTS must list account names (lowercase letters, digits, _; "
                f"starting with a letter) separated by commas; got {name!r}"
            )
    if len(set(names)) != len(names):
        raise ConfigError(f"PELCRO_ACCOUNTS names an account twice: {raw!r}")
    return tuple(names)


def parse_folder(name: str, raw: str | None, *, default: str | None) -> Path | None:
    if raw is None:
        return None if default is None else Path(default)
    path = Path(raw).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{name} must be a folder; {raw!r} is a file")
    return path


def parse_migrations_dir(raw: str | None) -> Path | None:
    path = parse_folder("PELCRO_MIGRATIONS_DIR", raw, default=None)
    if path is not None and not (path / "env.py").is_file():
        raise ConfigError(
            f"PELCRO_MIGRATIONS_DIR must be an Alembic folder (with env.py); got {raw!r}"
        )
    return path


def parse_flag(name: str, raw: str | None) -> bool:
    value = (raw or "0").lower()
    if value not in ("1", "0", "true", "false", "yes", "no"):
        raise ConfigError(f"{name} must be 1 or 0; got {raw!r}")
    return value in ("1", "true", "yes")


def parse_cron(name: str, raw: str) -> str:
    # Dagster parses the expression itself; this catches what is plainly not one, at start.
    if not (raw.startswith("@") or len(raw.split()) == 5):
        raise ConfigError(f"{name} must be a cron expression such as '*/15 * * * *'; got {raw!r}")
    return raw


def minutes(name: str, raw: str) -> timedelta:
    return timedelta(minutes=parse_positive(name, raw, unit="minutes"))


def hours(name: str, raw: str) -> timedelta:
    return timedelta(hours=parse_positive(name, raw, unit="hours"))
