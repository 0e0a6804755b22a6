"""Resources: the Pelcro Core API client and the Postgres warehouse, built from Dagster config.

Secrets reach these resources only as `dg.EnvVar` (see `definitions.py`), so the UI and the
run config show the variable's name, never its value.
"""

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
from pydantic import PrivateAttr
from sqlalchemy import Engine

from pelcro_sync.client import PelcroClient
from pelcro_sync.config import (
    DEFAULT_BASE_URL,
    DEFAULT_OAUTH_URL,
    DEFAULT_SCHEMA,
    Secret,
    Settings,
    parse_http_url,
    parse_rate_limit,
    parse_schema,
    parse_site_ids,
)
from pelcro_sync.warehouse import migrate
from pelcro_sync.warehouse.engine import describe, make_engine, resolve_database_url


class PelcroResource(dg.ConfigurableResource):
    """The Pelcro Core API. `get_client()` yields a `PelcroClient` paced by the account's
    machine-wide budget, so every step process of every run shares one request budget."""

    api_key: str | None = None
    access_token: str | None = None
    site_ids: str = ""
    base_url: str = DEFAULT_BASE_URL
    oauth_url: str = DEFAULT_OAUTH_URL
    rate_limit: int | None = None
    concurrency: int = 8

    def to_settings(self) -> Settings:
        """The library's settings, validated with the same one-line errors as the CLI."""
        return Settings(
            api_key=_secret(self.api_key),
            access_token=_secret(self.access_token),
            site_ids=parse_site_ids(self.site_ids or None),
            base_url=parse_http_url("PELCRO_BASE_URL", self.base_url),
            oauth_url=parse_http_url("PELCRO_OAUTH_URL", self.oauth_url),
            rate_limit=parse_rate_limit(str(self.rate_limit)) if self.rate_limit else None,
        )

    @property
    def has_credential(self) -> bool:
        return bool(self.api_key or self.access_token)

    @contextmanager
    def get_client(self) -> Iterator[PelcroClient]:
        """A client for one step or sensor tick; the library paces every client of an account
        through one machine-wide budget, so all step processes and runs share it."""
        with PelcroClient(self.to_settings(), concurrency=self.concurrency) as client:
            yield client


def _secret(value: str | None) -> Secret | None:
    value = (value or "").strip()
    return Secret(value) if value else None


# Migrations run once per process and (url, schema), before the first write of any step.
_MIGRATED: set[tuple[str, str]] = set()
_MIGRATE_LOCK = threading.Lock()


class WarehouseResource(dg.ConfigurableResource):
    """The Postgres warehouse: an engine on a migrated schema, made once per step process.

    `database_url` unset means the embedded local Postgres, as for the CLI.
    """

    database_url: str | None = None
    # Not `schema`: that name shadows pydantic's BaseModel.schema and warns at every load.
    schema_name: str = DEFAULT_SCHEMA

    _engine: Engine | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        schema = parse_schema(self.schema_name)
        url = resolve_database_url(Settings(database_url=self.database_url, schema=schema))
        with _MIGRATE_LOCK:
            if (url, schema) not in _MIGRATED:
                migrate.upgrade(url, schema=schema)
                _MIGRATED.add((url, schema))
        self._engine = make_engine(url)
        if context.log is not None:
            context.log.debug(f"warehouse {describe(url)}, schema {schema}")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise dg.DagsterInvariantViolationError("WarehouseResource used outside execution")
        return self._engine


def _env_vars(**fields: str) -> dict[str, Any]:
    """`dg.EnvVar` for each field whose variable is set. Dagster refuses an EnvVar whose
    variable is unset, and the library's default is wanted then, so unset ones are left out.
    This reads the environment (no I/O); the values themselves are resolved at run time."""
    return {
        field: dg.EnvVar(var) for field, var in fields.items() if os.environ.get(var, "").strip()
    }


def pelcro_from_env() -> PelcroResource:
    """PelcroResource configured by the environment variables of CONTRACT.md."""
    env = _env_vars(
        api_key="PELCRO_API_KEY", access_token="PELCRO_ACCESS_TOKEN", site_ids="PELCRO_SITE_ID",
        base_url="PELCRO_BASE_URL", oauth_url="PELCRO_OAUTH_URL",
    )  # fmt: skip
    if os.environ.get("PELCRO_RATE_LIMIT", "").strip():
        return PelcroResource(**env, rate_limit=dg.EnvVar.int("PELCRO_RATE_LIMIT"))
    return PelcroResource(**env)


def warehouse_from_env() -> WarehouseResource:
    """WarehouseResource from DATABASE_URL (embedded Postgres when unset) and PELCRO_SCHEMA."""
    return WarehouseResource(**_env_vars(database_url="DATABASE_URL", schema_name="PELCRO_SCHEMA"))
