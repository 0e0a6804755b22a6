"""Resources: the Pelcro Core API client and the Postgres warehouse, built from Dagster config.

Secrets reach these resources only as `dg.EnvVar` (see `definitions.py`), so the UI and the
run config show the variable's name, never its value.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from pelcro_sync import config
from pelcro_sync.api import accounts as pelcro_accounts
from pelcro_sync.api.client import PelcroClient
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
from pelcro_sync.errors import ConfigError
from pelcro_sync.redact import install_log_redaction
from pelcro_sync.warehouse.engine import resolve_database_url
from pelcro_sync.warehouse.warehouse import Warehouse


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
    # PELCRO_BUDGET_URL (or DATABASE_URL when it says `warehouse`): the budget shared by hosts.
    budget_url: str | None = None
    # PELCRO_ACCOUNTS: names of several accounts. Their credentials are read from the run's
    # environment (PELCRO_<NAME>_API_KEY, ...) by the library when a client is made, so no
    # secret enters Dagster config; the site decides the account.
    accounts: str = ""

    # The run's site partition (its `dagster/partition` tag): picks the account of a client.
    _site: int | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Also done at definitions load; here too for runs of these resources built elsewhere
        # (dg.materialize in tests, another code location reusing them).
        install_log_redaction()
        run = context.run
        partition = run.tags.get("dagster/partition") if run is not None else None
        self._site = int(partition) if partition and partition.isdigit() else None

    def to_settings(self) -> Settings:
        """The library's settings, validated with the same one-line errors as the CLI."""
        return Settings(
            api_key=_secret(self.api_key),
            access_token=_secret(self.access_token),
            site_ids=parse_site_ids(self.site_ids or None),
            base_url=parse_http_url("PELCRO_BASE_URL", self.base_url),
            oauth_url=parse_http_url("PELCRO_OAUTH_URL", self.oauth_url),
            rate_limit=parse_rate_limit(str(self.rate_limit)) if self.rate_limit else None,
            budget_url=self.budget_url or None,
        )

    def settings_for_site(self, site_id: int | None) -> Settings:
        """One account's settings: this resource's own, or with PELCRO_ACCOUNTS the account
        that owns `site_id` (its configured sites, else its `GET /account`)."""
        if not self.accounts.strip():
            return self.to_settings()
        accounts = self._accounts()
        if site_id is None:
            if len(accounts) == 1:
                return accounts[0].settings
            raise dg.DagsterInvariantViolationError(
                "several Pelcro accounts are configured: a client needs the site to choose one"
            )
        return pelcro_accounts.account_for_site(accounts, site_id, list_sites=_list_sites).settings

    def all_site_ids(self) -> list[int]:
        """Every site to sync, over all accounts (for the sites sensor)."""
        if not self.accounts.strip():
            with self.get_client() as client:
                return list(client.site_ids())
        return sorted(pelcro_accounts.sites_by_account(self._accounts(), list_sites=_list_sites))

    def _accounts(self) -> tuple[pelcro_accounts.Account, ...]:
        accounts = pelcro_accounts.load_accounts()
        wanted = pelcro_accounts.parse_names(self.accounts)
        return tuple(a for a in accounts if a.name in wanted)

    @property
    def has_credential(self) -> bool:
        return bool(self.api_key or self.access_token or self.accounts.strip())

    @contextmanager
    def get_client(self, *, site_id: int | None = None) -> Iterator[PelcroClient]:
        """A client for one step or sensor tick; the library paces every client of an account
        through one shared budget (machine-wide, or in Postgres with PELCRO_BUDGET_URL), so
        all step processes and runs share it. With several accounts, `site_id` (default: the
        run's site partition) picks the account."""
        settings = self.settings_for_site(site_id if site_id is not None else self._site)
        with PelcroClient(settings, concurrency=self.concurrency) as client:
            yield client


def _list_sites(account: pelcro_accounts.Account) -> tuple[int, ...]:
    with PelcroClient(account.settings) as client:
        return client.site_ids()


def _secret(value: str | None) -> Secret | None:
    value = (value or "").strip()
    return Secret(value) if value else None


class WarehouseResource(dg.ConfigurableResource):
    """The Postgres warehouse: a `Warehouse` on a migrated schema, opened once per step
    process (or sensor tick); a schema already at the latest migration costs one query.

    `database_url` unset means the embedded local Postgres, as for the CLI.
    """

    database_url: str | None = None
    # Not `schema`: that name shadows pydantic's BaseModel.schema and warns at every load.
    schema_name: str = DEFAULT_SCHEMA

    _warehouse: Warehouse | None = PrivateAttr(default=None)
    _bad_setting: str | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        install_log_redaction()  # as PelcroResource does
        try:
            schema = parse_schema(self.schema_name)
            url = resolve_database_url(Settings(database_url=self.database_url, schema=schema))
        except ConfigError as exc:
            # Raised here it would fail the run before any step, a failure run retries
            # retry; the step that needs the warehouse fails instead, once (`warehouse`).
            self._bad_setting = str(exc)
            return
        self._warehouse = Warehouse.open(url, schema=schema)
        if context.log is not None:
            context.log.debug(f"warehouse {self._warehouse.where}")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._warehouse is not None:
            self._warehouse.dispose()
            self._warehouse = None

    @property
    def warehouse(self) -> Warehouse:
        if self._bad_setting is not None:
            raise bad_setting(self._bad_setting)
        if self._warehouse is None:
            raise dg.DagsterInvariantViolationError("WarehouseResource used outside execution")
        return self._warehouse


def bad_setting(message: str) -> dg.Failure:
    """A setting that is missing or malformed: no retry can fix it, so the step fails at
    once (no RetryPolicy attempt; run retries skip step failures, see schedules.py)."""
    return dg.Failure(description=message, allow_retries=False)


def _env_vars(**fields: str) -> dict[str, Any]:
    """`dg.EnvVar` for each field whose variable is set. Dagster refuses an EnvVar whose
    variable is unset, and the library's default is wanted then, so unset ones are left out.
    This asks config whether each is set (no I/O); the values are resolved at run time."""
    return {field: dg.EnvVar(var) for field, var in fields.items() if config.is_set(var)}


def pelcro_from_env() -> PelcroResource:
    """PelcroResource configured by the environment variables of CONTRACT.md."""
    env = _env_vars(
        api_key="PELCRO_API_KEY",
        access_token="PELCRO_ACCESS_TOKEN",
        site_ids="PELCRO_SITE_ID",
        base_url="PELCRO_BASE_URL",
        oauth_url="PELCRO_OAUTH_URL",
    )
    env |= _env_vars(accounts="PELCRO_ACCOUNTS")
    if config.is_set("PELCRO_BUDGET_URL"):
        # `warehouse` means the warehouse's URL; either way config holds a variable's name.
        warehouse = config.environment()["PELCRO_BUDGET_URL"].strip().lower() == "warehouse"
        var = "DATABASE_URL" if warehouse else "PELCRO_BUDGET_URL"
        # Without DATABASE_URL, `warehouse` stays literal and the library says what is missing.
        env["budget_url"] = dg.EnvVar(var) if config.is_set(var) else "warehouse"
    if config.is_set("PELCRO_RATE_LIMIT"):
        return PelcroResource(**env, rate_limit=dg.EnvVar.int("PELCRO_RATE_LIMIT"))
    return PelcroResource(**env)


def warehouse_from_env() -> WarehouseResource:
    """WarehouseResource from DATABASE_URL (embedded Postgres when unset) and PELCRO_SCHEMA."""
    return WarehouseResource(**_env_vars(database_url="DATABASE_URL", schema_name="PELCRO_SCHEMA"))
