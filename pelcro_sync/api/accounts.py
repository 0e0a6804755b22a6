"""Several Pelcro accounts in one deployment: `PELCRO_ACCOUNTS=acme,beta` and prefixed variables.

Each account `acme` reads `PELCRO_ACME_API_KEY` (or `PELCRO_ACME_ACCESS_TOKEN`),
`PELCRO_ACME_SITE_ID`, `PELCRO_ACME_RATE_LIMIT` and `PELCRO_ACME_BASE_URL`; everything else
(warehouse, schema, budget database, OAuth host, and the base URL when no prefixed one is
given) is shared. Each account gets its own `Settings`, hence its own credential, sites and
request budget (budgets are keyed by base URL + credential). With `PELCRO_ACCOUNTS` unset
the single-account variables are one account named `default`, exactly as before.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pelcro_sync.config import (
    ENV_FILE,
    Settings,
    account_prefix,
    account_settings,
    environment,
    parse_account_names,
)
from pelcro_sync.errors import ConfigError

DEFAULT = "default"
# The names tests and the Dagster resource use; the reading itself is config.py's.
parse_names = parse_account_names
prefix = account_prefix


@dataclass(frozen=True)
class Account:
    """One Pelcro account: a name for logs and tags, and the settings its clients use."""

    name: str
    settings: Settings

    def __repr__(self) -> str:  # Settings holds Secrets already; keep the repr short anyway
        return f"Account({self.name!r}, base_url={self.settings.base_url!r})"


def load_accounts(
    environ: Mapping[str, str] | None = None, *, dotenv: Path | None = ENV_FILE
) -> tuple[Account, ...]:
    """The configured accounts: those of PELCRO_ACCOUNTS, else the single-account settings."""
    env = environment(environ, dotenv=dotenv)
    names = parse_account_names(env.get("PELCRO_ACCOUNTS"))
    if not names:
        return (Account(DEFAULT, Settings.from_env(env, dotenv=None)),)
    return tuple(Account(name, account_settings(env, name)) for name in names)


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
