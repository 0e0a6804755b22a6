"""Several Pelcro accounts in one deployment: `PELCRO_ACCOUNTS=acme,beta` and prefixed variables.

Each account `acme` reads `PELCRO_ACME_API_KEY` (or `PELCRO_ACME_ACCESS_TOKEN`),
`PELCRO_ACME_SITE_ID`, `PELCRO_ACME_RATE_LIMIT` and `PELCRO_ACME_BASE_URL`; everything else
(warehouse, schema, budget database, OAuth host, and the base URL when no prefixed one is
given) is shared. Each account gets its own `Settings`, hence its own credential, sites and
request budget (budgets are keyed by base URL + credential). With `PELCRO_ACCOUNTS` unset
the single-account variables are one account named `default`, exactly as before.
"""

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from pelcro_sync.config import Settings
from pelcro_sync.errors import ConfigError

DEFAULT = "default"
# The variables that belong to one account; an account never inherits the global ones, so
# a missing PELCRO_BETA_API_KEY is an error, not a silent use of acme's key.
PER_ACCOUNT = ("API_KEY", "ACCESS_TOKEN", "ACCESS_TOKEN_EXPIRES_AT", "SITE_ID", "RATE_LIMIT")
# Per account when given, else the shared value (most deployments talk to one Pelcro host).
OVERRIDABLE = ("BASE_URL",)
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


@dataclass(frozen=True)
class Account:
    """One Pelcro account: a name for logs and tags, and the settings its clients use."""

    name: str
    settings: Settings

    def __repr__(self) -> str:  # Settings holds Secrets already; keep the repr short anyway
        return f"Account({self.name!r}, base_url={self.settings.base_url!r})"


def load_accounts(
    environ: Mapping[str, str] | None = None, *, dotenv: Path | None = Path(".env")
) -> tuple[Account, ...]:
    """The configured accounts: those of PELCRO_ACCOUNTS, else the single-account settings."""
    env = _environment(environ, dotenv)
    names = parse_names(env.get("PELCRO_ACCOUNTS"))
    if not names:
        return (Account(DEFAULT, Settings.from_env(env, dotenv=None)),)
    return tuple(Account(name, _account_settings(env, name)) for name in names)


def parse_names(raw: str | None) -> tuple[str, ...]:
    """`acme, beta` → ("acme", "beta"); names are lowercase identifiers, each once."""
    names = [part.strip().lower() for part in (raw or "").split(",") if part.strip()]
    for name in names:
        if not _NAME.match(name):
            raise ConfigError(
                "PELCRO_ACCOUNTS must list account names (lowercase letters, digits, _; "
                f"starting with a letter) separated by commas; got {name!r}"
            )
    if len(set(names)) != len(names):
        raise ConfigError(f"PELCRO_ACCOUNTS names an account twice: {raw!r}")
    return tuple(names)


def prefix(name: str) -> str:
    return f"PELCRO_{name.upper()}_"


def _environment(environ: Mapping[str, str] | None, dotenv: Path | None) -> dict[str, str]:
    env: dict[str, str] = {}
    if dotenv is not None and dotenv.is_file():
        env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    env.update(os.environ if environ is None else environ)
    return env


def _account_settings(env: Mapping[str, str], name: str) -> Settings:
    """Settings.from_env over the shared variables with this account's prefixed ones on top,
    so every value is validated (and named in errors) exactly as for one account."""
    own = {f"PELCRO_{v}": env[prefix(name) + v] for v in PER_ACCOUNT + OVERRIDABLE
           if env.get(prefix(name) + v, "").strip()}  # fmt: skip
    shared = {k: v for k, v in env.items() if k.removeprefix("PELCRO_") not in PER_ACCOUNT}
    try:
        settings = Settings.from_env({**shared, **own}, dotenv=None)
    except ConfigError as exc:
        # The message names PELCRO_X; say which account's variable that was.
        raise ConfigError(f"account {name!r} ({prefix(name)}…): {exc}") from None
    if settings.credential is None:
        raise ConfigError(
            f"account {name!r} has no credentials: set {prefix(name)}API_KEY or "
            f"{prefix(name)}ACCESS_TOKEN"
        )
    return settings


SiteLister = Callable[[Account], Iterable[int]]


def sites_by_account(accounts: Iterable[Account], *, list_sites: SiteLister) -> dict[int, Account]:
    """Every site of every account → its account. `list_sites` asks an account for its sites
    (its configured SITE_ID list, else `GET /account`). A site claimed by two accounts is a
    configuration error: its partition could not tell which credential to use."""
    owner: dict[int, Account] = {}
    for account in accounts:
        for site in list_sites(account):
            other = owner.setdefault(int(site), account)
            if other is not account:
                raise ConfigError(
                    f"site {site} belongs to both accounts {other.name!r} and {account.name!r}; "
                    f"set {prefix(account.name)}SITE_ID to the sites each one should sync"
                )
    return owner


def account_for_site(
    accounts: Iterable[Account], site_id: int, *, list_sites: SiteLister
) -> Account:
    """The account that syncs `site_id`. Configured site lists answer without I/O; the
    accounts without one are asked (`GET /account`, cached per process) only when needed."""
    accounts = tuple(accounts)
    if len(accounts) == 1:
        return accounts[0]
    for account in accounts:
        if site_id in account.settings.site_ids:
            return account
    owner = sites_by_account(accounts, list_sites=list_sites).get(site_id)
    if owner is None:
        names = ", ".join(a.name for a in accounts)
        raise ConfigError(f"site {site_id} belongs to none of the accounts {names}")
    return owner
