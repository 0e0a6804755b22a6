"""PELCRO_ACCOUNTS parsing: each account's own credentials, sites and rate; shared settings."""

import pytest

from pelcro_sync.api.accounts import (
    DEFAULT,
    Account,
    account_for_site,
    load_accounts,
    parse_names,
    sites_by_account,
)
from pelcro_sync.config import Settings
from pelcro_sync.errors import ConfigError

TWO = {
    "PELCRO_ACCOUNTS": "acme, beta",
    "PELCRO_ACME_API_KEY": "key_acme",
    "PELCRO_ACME_SITE_ID": "11,12",
    "PELCRO_ACME_RATE_LIMIT": "360",
    "PELCRO_BETA_ACCESS_TOKEN": "tok_beta",
    "PELCRO_BETA_BASE_URL": "https://beta.example/api/v1/core/",
    "PELCRO_BASE_URL": "https://shared.example/api",
    "PELCRO_API_KEY": "key_global",  # the single-account key: never inherited by an account
    "PELCRO_SITE_ID": "99",
    "DATABASE_URL": "postgresql://warehouse/db",
    "PELCRO_SCHEMA": "pel",
    "PELCRO_BUDGET_URL": "warehouse",
}


def test_each_account_has_its_own_credential_sites_and_rate() -> None:
    acme, beta = load_accounts(TWO, dotenv=None)
    assert (acme.name, beta.name) == ("acme", "beta")
    assert acme.settings.require_credential().reveal() == "key_acme"
    assert acme.settings.site_ids == (11, 12) and acme.settings.rate_limit == 360
    assert acme.settings.base_url == "https://shared.example/api"
    assert beta.settings.access_token is not None and beta.settings.api_key is None
    assert beta.settings.require_credential().reveal() == "tok_beta"
    assert beta.settings.site_ids == () and beta.settings.rate_limit is None
    assert beta.settings.base_url == "https://beta.example/api/v1/core"
    for account in (acme, beta):  # shared: the warehouse, its schema, the budget database
        assert account.settings.database_url == "postgresql+psycopg://warehouse/db"  # normalised
        assert account.settings.schema == "pel"
        assert account.settings.budget_url == "warehouse"


def test_without_pelcro_accounts_the_single_account_variables_work_unchanged() -> None:
    env = {"PELCRO_API_KEY": "key_one", "PELCRO_SITE_ID": "5", "PELCRO_RATE_LIMIT": "60"}
    (only,) = load_accounts(env, dotenv=None)
    assert only.name == DEFAULT
    assert only.settings == Settings.from_env(env, dotenv=None)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PELCRO_ACCOUNTS": "acme"}, "PELCRO_ACME_API_KEY"),
        ({"PELCRO_ACCOUNTS": "acme", "PELCRO_ACME_API_KEY": "k", "PELCRO_ACME_SITE_ID": "x"},
         "account 'acme'.*PELCRO_SITE_ID"),
        ({"PELCRO_ACCOUNTS": "Acme-1"}, "lowercase"),
        ({"PELCRO_ACCOUNTS": "acme,acme"}, "twice"),
    ],
    ids=["no-credential", "bad-site-id", "bad-name", "duplicate"],
)  # fmt: skip
def test_configuration_errors_name_the_account_and_variable(env, message) -> None:
    with pytest.raises(ConfigError, match=message):
        load_accounts(env, dotenv=None)


def test_error_messages_never_show_a_secret() -> None:
    env = {
        "PELCRO_ACCOUNTS": "acme",
        "PELCRO_ACME_API_KEY": "sk_live_secret",
        "PELCRO_ACME_RATE_LIMIT": "-1",
    }
    with pytest.raises(ConfigError) as caught:
        load_accounts(env, dotenv=None)
    assert "sk_live_secret" not in str(caught.value)


def test_names_parse_lowercased_and_in_order() -> None:
    assert parse_names(" Acme ,beta_2,") == ("acme", "beta_2")
    assert parse_names(None) == ()


def _accounts() -> tuple[Account, ...]:
    return load_accounts(TWO, dotenv=None)


def test_configured_site_lists_pick_the_account_without_asking_the_api() -> None:
    asked: list[str] = []

    def list_sites(account: Account) -> tuple[int, ...]:
        asked.append(account.name)
        return account.settings.site_ids or (21,)

    assert account_for_site(_accounts(), 12, list_sites=list_sites).name == "acme"
    assert asked == []
    assert account_for_site(_accounts(), 21, list_sites=list_sites).name == "beta"
    assert set(asked) == {"acme", "beta"}


def test_a_site_claimed_by_two_accounts_or_by_none_is_an_error() -> None:
    with pytest.raises(ConfigError, match="both accounts 'acme' and 'beta'"):
        sites_by_account(_accounts(), list_sites=lambda a: (11,))
    with pytest.raises(ConfigError, match="none of the accounts"):
        account_for_site(_accounts(), 77, list_sites=lambda a: a.settings.site_ids or (21,))
