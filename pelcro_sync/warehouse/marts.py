"""Where the dbt project lives, which schema it builds, and the connection it is handed.

dbt reads its connection from environment variables (analytics/profiles.yml uses only
`env_var()`), so no file ever holds the warehouse password: `dbt_env` turns the warehouse
URL into those variables for one dbt process or invocation.
"""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from pelcro_sync import config

_PACKAGE = Path(__file__).resolve().parents[1]
# Installed from the wheel, the dbt project is package data (pyproject.toml's force-include);
# in a source checkout (and an editable install) it is the repository's `analytics/`.
SHIPPED_DIR = _PACKAGE / "analytics"
ANALYTICS_DIR = (
    SHIPPED_DIR if (SHIPPED_DIR / "dbt_project.yml").is_file() else _PACKAGE.parent / "analytics"
)
# dbt scrubs the values of variables named DBT_ENV_SECRET_* from its logs and artifacts.
PASSWORD_VAR = "DBT_ENV_SECRET_PELCRO_PASSWORD"


def marts_schema(environ: Mapping[str, str] | None = None) -> str:
    """PELCRO_MARTS_SCHEMA as config.py validates it (`pelcro_marts` when unset), for code
    that has no Settings (the Dagster step)."""
    return str(config.read("PELCRO_MARTS_SCHEMA", environ))


def analytics_dir() -> Path:
    """The dbt project: PELCRO_ANALYTICS_DIR, else the shipped or checked-out `analytics/`."""
    return config.read("PELCRO_ANALYTICS_DIR") or ANALYTICS_DIR


def dbt_env(url: str, *, schema: str, marts: str) -> dict[str, str]:
    """The variables analytics/profiles.yml reads, for the warehouse at `url`."""
    parsed = make_url(url)
    query = {k: v if isinstance(v, str) else v[0] for k, v in parsed.query.items()}
    # The embedded Postgres is reached over a unix socket, named by ?host=/dir.
    host = query.get("host") or parsed.host or "localhost"
    return {
        "PELCRO_DBT_HOST": host,
        "PELCRO_DBT_PORT": str(parsed.port or query.get("port") or 5432),
        "PELCRO_DBT_USER": parsed.username or "postgres",
        PASSWORD_VAR: parsed.password or "",
        "PELCRO_DBT_DBNAME": parsed.database or "postgres",
        "PELCRO_DBT_SSLMODE": query.get("sslmode", "prefer"),
        "PELCRO_SCHEMA": schema,
        "PELCRO_MARTS_SCHEMA": marts,
    }


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set `values` in os.environ for the block: dbt reads env_var() from there, in this
    process (dbtRunner) or in the dbt process started inside the block (Dagster)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
