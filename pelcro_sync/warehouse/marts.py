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

from pelcro_sync.config import parse_schema
from pelcro_sync.errors import ConfigError

DEFAULT_MARTS_SCHEMA = "pelcro_marts"
ANALYTICS_DIR = Path(__file__).resolve().parents[2] / "analytics"
# The demo's last word: MRR by month of the last year ({m}: the quoted marts schema).
MRR_BY_MONTH = """SELECT month, currency, round(sum(mrr)) AS mrr,
                  count(DISTINCT customer_id) AS customers
             FROM {m}.mrr_monthly WHERE month > (now() - interval '12 months')
            GROUP BY 1, 2 ORDER BY 1, 2"""
# dbt scrubs the values of variables named DBT_ENV_SECRET_* from its logs and artifacts.
PASSWORD_VAR = "DBT_ENV_SECRET_PELCRO_PASSWORD"


def marts_schema(environ: dict[str, str] | None = None) -> str:
    """PELCRO_MARTS_SCHEMA, validated like PELCRO_SCHEMA; `pelcro_marts` when unset.

    Read here until `Settings` carries it (see CONTRACT.md's configuration table)."""
    env = os.environ if environ is None else environ
    raw = (env.get("PELCRO_MARTS_SCHEMA") or "").strip() or DEFAULT_MARTS_SCHEMA
    try:
        return parse_schema(raw)
    except ConfigError:
        raise ConfigError(
            "PELCRO_MARTS_SCHEMA must be a lowercase Postgres identifier (letters, digits, _); "
            f"got {raw!r}"
        ) from None


def analytics_dir() -> Path:
    """The dbt project: PELCRO_ANALYTICS_DIR, else the repository's `analytics/`."""
    return Path(os.environ.get("PELCRO_ANALYTICS_DIR") or ANALYTICS_DIR)


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
