"""Every setting pelcro-sync reads from its environment (and `.env`), validated once, at start.

The variable names are the public contract (../shared/CONTRACT.md). This is the only module
that reads the environment: the CLI loads `Settings.from_env()` before any command runs, so
a bad value ends there with one line naming the variable (exit status 2); code that runs
without a `Settings` in hand asks `read(NAME)`, which validates that variable the same way.
Secrets are held in `Secret`, whose repr and str never show the value.

Hand-written parsing, not pydantic-settings (weighed for issue #17): each variable is a
line in `VARIABLES` and a parser of a few lines, and the error is already the one line we
want. pydantic-settings would add a dependency the library does not otherwise import
(pydantic comes with Dagster, which `pelcro_sync` never imports) and ~170 ms of import to
every command; its ValidationError is several lines to reformat; and the two things we need
most fit it poorly: secrets that register with the redactor, and one account's prefixed
variables (`PELCRO_ACME_API_KEY`) laid over the shared ones with errors naming the account.
"""

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from pelcro_sync.errors import ConfigError
from pelcro_sync.parsers import (
    DEFAULT_BASE_URL,
    DEFAULT_FRESHNESS_FAST,
    DEFAULT_FRESHNESS_SCAN,
    DEFAULT_MAX_DELETE_SHARE,
    hours,
    minutes,
    parse_account_names,
    parse_budget_url,
    parse_cron,
    parse_database_url,
    parse_duration,
    parse_expiry,
    parse_flag,
    parse_folder,
    parse_http_url,
    parse_migrations_dir,
    parse_rate_limit,
    parse_schema,
    parse_share,
    parse_site_ids,
    parse_text,
)

DEFAULT_OAUTH_URL = "https://www.pelcro.com"
DEFAULT_SCHEMA = "pelcro"
DEFAULT_MARTS_SCHEMA = "pelcro_marts"
DEFAULT_RECONCILE_WINDOW = timedelta(hours=6)
DEFAULT_FAST_CRON = "*/15 * * * *"
DEFAULT_RECONCILE_CRON = "0 3 * * *"  # nightly, 03:00 UTC
ENV_FILE = Path(".env")
# Old spellings still honoured: name -> the current one.
ALIASES = {"PELCRO_SYNC_CRON": "PELCRO_FAST_CRON"}


class Secret:
    """A secret string that cannot leak through repr, str, f-strings or logging."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        # Let the last-line scrubber mask this value in any text that picks it up anyway.
        from pelcro_sync.redact import register

        register(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


@dataclass(frozen=True)
class Settings:
    """Everything pelcro-sync reads from its environment."""

    api_key: Secret | None = None
    access_token: Secret | None = None
    client_id: str | None = None
    client_secret: Secret | None = None
    redirect_uri: str | None = None
    site_ids: tuple[int, ...] = ()
    base_url: str = DEFAULT_BASE_URL
    oauth_url: str = DEFAULT_OAUTH_URL
    rate_limit: int | None = None
    database_url: str | None = None
    schema: str = DEFAULT_SCHEMA
    webhook_secret: Secret | None = field(default=None)
    # Unix seconds when PELCRO_ACCESS_TOKEN lapses (tokens last two days), if known.
    access_token_expires_at: float | None = None
    # PELCRO_BUDGET_URL: a Postgres URL (or `warehouse`) holding the request budget that
    # processes on every host share; unset, the budget is shared on this machine only.
    budget_url: str | None = None
    marts_schema: str = DEFAULT_MARTS_SCHEMA
    reconcile_window: timedelta = DEFAULT_RECONCILE_WINDOW
    max_delete_share: float = DEFAULT_MAX_DELETE_SHARE
    accounts: tuple[str, ...] = ()
    data_dir: Path = Path(".data")  # the embedded Postgres lives in its `postgres/`
    migrations_dir: Path | None = None  # None: the scripts shipped with the package
    analytics_dir: Path | None = None  # None: the dbt project shipped with the package
    debug: bool = False
    fast_cron: str = DEFAULT_FAST_CRON
    reconcile_cron: str = DEFAULT_RECONCILE_CRON
    marts_cron: str | None = None  # None: the reconcile's cron
    freshness_fast: timedelta = DEFAULT_FRESHNESS_FAST
    freshness_scan: timedelta = DEFAULT_FRESHNESS_SCAN

    @property
    def credential(self) -> Secret | None:
        """The bearer credential in use: the OAuth token when set, else the API key."""
        return self.access_token or self.api_key

    @property
    def credential_kind(self) -> str:
        if self.access_token:
            return "OAuth access token (PELCRO_ACCESS_TOKEN)"
        if self.api_key:
            return "API key (PELCRO_API_KEY)"
        return "none"

    def require_credential(self) -> Secret:
        cred = self.credential
        if cred is None:
            raise ConfigError(
                "no Pelcro credentials: set PELCRO_API_KEY (an account API key) or "
                "PELCRO_ACCESS_TOKEN (an OAuth access token)"
            )
        return cred

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, dotenv: Path | None = ENV_FILE
    ) -> "Settings":
        """Read and validate every variable; the process environment wins over `.env`."""
        env = environment(environ, dotenv=dotenv)
        values = {attr: parse(name, _get(env, name)) for name, (attr, parse) in VARIABLES.items()}
        if values["budget_url"] == "warehouse" and not values["database_url"]:
            raise ConfigError("PELCRO_BUDGET_URL=warehouse needs DATABASE_URL to be set")
        return cls(**values)


def environment(
    environ: Mapping[str, str] | None = None, *, dotenv: Path | None = ENV_FILE
) -> dict[str, str]:
    """`environ` (default: the process environment) over the `.env` file, old names mapped."""
    env: dict[str, str] = {}
    if dotenv is not None and dotenv.is_file():
        env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    env.update(os.environ if environ is None else environ)
    for old, new in ALIASES.items():
        if env.get(old, "").strip() and not env.get(new, "").strip():
            env[new] = env[old]
    return env


def read(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """One variable, validated as `Settings.from_env` does, for code without Settings."""
    _, parse = VARIABLES[name]
    return parse(name, _get(environment(environ), name))


def is_set(name: str) -> bool:
    """Whether the environment (or `.env`) gives `name` a value."""
    return _get(environment(), name) is not None


def _get(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name, "").strip() or None


# -- parsers: (variable name, raw value or None) -> the value, or a one-line ConfigError ------


def parse_secret(name: str, raw: str | None) -> Secret | None:
    if raw is None:
        return None
    if any(ch.isspace() for ch in raw):
        raise ConfigError(f"{name} contains whitespace; paste the value exactly")
    return Secret(raw)


def _or(default: Any, parse: Callable[[str, str], Any]) -> Callable[[str, str | None], Any]:
    return lambda name, raw: default if raw is None else parse(name, raw)


Parser = Callable[[str, str | None], Any]
# variable -> (Settings attribute, parser); Settings.from_env reads every one of them.
VARIABLES: dict[str, tuple[str, Parser]] = {
    "PELCRO_API_KEY": ("api_key", parse_secret),
    "PELCRO_ACCESS_TOKEN": ("access_token", parse_secret),
    "PELCRO_CLIENT_ID": ("client_id", parse_text),
    "PELCRO_CLIENT_SECRET": ("client_secret", parse_secret),
    "PELCRO_REDIRECT_URI": ("redirect_uri", parse_text),
    "PELCRO_SITE_ID": ("site_ids", lambda _, raw: parse_site_ids(raw)),
    "PELCRO_BASE_URL": ("base_url", _or(DEFAULT_BASE_URL, parse_http_url)),
    "PELCRO_OAUTH_URL": ("oauth_url", _or(DEFAULT_OAUTH_URL, parse_http_url)),
    "PELCRO_RATE_LIMIT": ("rate_limit", lambda _, raw: parse_rate_limit(raw)),
    "DATABASE_URL": ("database_url", _or(None, lambda n, r: parse_database_url(r, name=n))),
    "PELCRO_SCHEMA": ("schema", _or(DEFAULT_SCHEMA, lambda n, r: parse_schema(r, name=n))),
    "PELCRO_WEBHOOK_SECRET": ("webhook_secret", parse_secret),
    "PELCRO_ACCESS_TOKEN_EXPIRES_AT": ("access_token_expires_at", lambda _, r: parse_expiry(r)),
    "PELCRO_BUDGET_URL": ("budget_url", lambda _, raw: parse_budget_url(raw)),
    "PELCRO_MARTS_SCHEMA": (
        "marts_schema",
        _or(DEFAULT_MARTS_SCHEMA, lambda n, r: parse_schema(r, name=n)),
    ),
    "PELCRO_RECONCILE_WINDOW": ("reconcile_window", _or(DEFAULT_RECONCILE_WINDOW, parse_duration)),
    "PELCRO_MAX_DELETE_SHARE": ("max_delete_share", lambda _, raw: parse_share(raw)),
    "PELCRO_ACCOUNTS": ("accounts", lambda _, raw: parse_account_names(raw)),
    "PELCRO_DATA_DIR": ("data_dir", lambda n, raw: parse_folder(n, raw, default=".data")),
    "PELCRO_MIGRATIONS_DIR": ("migrations_dir", lambda _, raw: parse_migrations_dir(raw)),
    "PELCRO_ANALYTICS_DIR": ("analytics_dir", lambda n, raw: parse_folder(n, raw, default=None)),
    "PELCRO_DEBUG": ("debug", parse_flag),
    "PELCRO_FAST_CRON": ("fast_cron", _or(DEFAULT_FAST_CRON, parse_cron)),
    "PELCRO_RECONCILE_CRON": ("reconcile_cron", _or(DEFAULT_RECONCILE_CRON, parse_cron)),
    "PELCRO_MARTS_CRON": ("marts_cron", _or(None, parse_cron)),
    "PELCRO_FRESHNESS_FAST_MINUTES": ("freshness_fast", _or(DEFAULT_FRESHNESS_FAST, minutes)),
    "PELCRO_FRESHNESS_SCAN_HOURS": ("freshness_scan", _or(DEFAULT_FRESHNESS_SCAN, hours)),
}


# -- several accounts: PELCRO_ACCOUNTS=acme,beta and PELCRO_ACME_API_KEY, ... ------------------

# The variables that belong to one account; an account never inherits the global ones, so
# a missing PELCRO_BETA_API_KEY is an error, not a silent use of acme's key.
PER_ACCOUNT = ("API_KEY", "ACCESS_TOKEN", "ACCESS_TOKEN_EXPIRES_AT", "SITE_ID", "RATE_LIMIT")
# Per account when given, else the shared value (most deployments talk to one Pelcro host).
OVERRIDABLE = ("BASE_URL",)


def account_prefix(name: str) -> str:
    return f"PELCRO_{name.upper()}_"


def account_settings(env: Mapping[str, str], name: str) -> Settings:
    """Settings.from_env over the shared variables with account `name`'s prefixed ones on
    top, so every value is validated (and named in errors) exactly as for one account."""
    pre = account_prefix(name)
    own = {f"PELCRO_{v}": env[pre + v] for v in PER_ACCOUNT + OVERRIDABLE if _get(env, pre + v)}
    shared = {k: v for k, v in env.items() if k.removeprefix("PELCRO_") not in PER_ACCOUNT}
    try:
        settings = Settings.from_env({**shared, **own}, dotenv=None)
    except ConfigError as exc:
        # The message names PELCRO_X; say which account's variable that was.
        raise ConfigError(f"account {name!r} ({pre}…): {exc}") from None
    if settings.credential is None:
        raise ConfigError(
            f"account {name!r} has no credentials: set {pre}API_KEY or {pre}ACCESS_TOKEN"
        )
    return settings
