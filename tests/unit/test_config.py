"""Settings from the environment: one-line validation messages, secrets that never print."""

from datetime import timedelta
from pathlib import Path

import pytest

from pelcro_sync.config import Secret, Settings, read
from pelcro_sync.errors import ConfigError

KEY = "eyJ0eXAi-config-test-key"


def load(**env: str) -> Settings:
    return Settings.from_env(env, dotenv=None)


def test_defaults() -> None:
    s = load(PELCRO_API_KEY=KEY)
    assert s.base_url == "https://www.pelcro.com/api/v1/core" and s.site_ids == ()
    assert s.credential == Secret(KEY) and s.rate_limit is None


def test_token_wins_over_key() -> None:
    s = load(PELCRO_API_KEY=KEY, PELCRO_ACCESS_TOKEN="tok")
    assert s.credential == Secret("tok") and s.credential_kind.startswith("OAuth")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PELCRO_SITE_ID": "12,abc"}, "PELCRO_SITE_ID must be a site id"),
        ({"PELCRO_SITE_ID": "-3"}, "PELCRO_SITE_ID must be a site id"),
        ({"PELCRO_BASE_URL": "ftp://x"}, "PELCRO_BASE_URL must be an http(s) URL"),
        ({"PELCRO_BASE_URL": "www.pelcro.com"}, "PELCRO_BASE_URL must be an http(s) URL"),
        ({"PELCRO_OAUTH_URL": "nope"}, "PELCRO_OAUTH_URL must be an http(s) URL"),
        ({"PELCRO_RATE_LIMIT": "fast"}, "PELCRO_RATE_LIMIT must be requests per minute"),
        ({"PELCRO_API_KEY": "ab cd"}, "PELCRO_API_KEY contains whitespace"),
        ({"PELCRO_ACCESS_TOKEN_EXPIRES_AT": "tomorrow"}, "PELCRO_ACCESS_TOKEN_EXPIRES_AT must"),
    ],
    ids=["site-id", "negative-site", "ftp", "no-scheme", "oauth-url", "rate", "space", "expiry"],
)
def test_invalid_values_give_one_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(**env)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)
    assert "ab cd" not in str(info.value)  # a malformed secret is not echoed either


def test_site_ids_are_parsed_and_deduplicated() -> None:
    assert load(PELCRO_SITE_ID=" 3, 1,3 ,").site_ids == (3, 1)


def test_base_url_trailing_slash_dropped() -> None:
    assert load(PELCRO_BASE_URL="http://127.0.0.1:8765/api/v1/core/").base_url.endswith("core")


def test_no_credential_names_both_variables() -> None:
    with pytest.raises(ConfigError, match=r"PELCRO_API_KEY .* or PELCRO_ACCESS_TOKEN"):
        load().require_credential()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1700000000", 1_700_000_000.0), ("2023-11-14T22:13:20Z", 1_700_000_000.0),
     ("2023-11-14T22:13:20", 1_700_000_000.0)],
    ids=["unix", "iso-z", "iso-naive-utc"],
)  # fmt: skip
def test_token_expiry(raw: str, expected: float) -> None:
    assert load(PELCRO_ACCESS_TOKEN_EXPIRES_AT=raw).access_token_expires_at == expected


def test_secrets_never_show_in_repr() -> None:
    s = load(PELCRO_API_KEY=KEY, PELCRO_CLIENT_SECRET="cs-123", PELCRO_WEBHOOK_SECRET="wh-456")
    for text in (repr(s), str(s), f"{s.api_key}", repr(s.client_secret)):
        assert KEY not in text and "cs-123" not in text and "wh-456" not in text


def test_environment_wins_over_dotenv(tmp_path) -> None:  # type: ignore[no-untyped-def]
    dotenv = tmp_path / ".env"
    dotenv.write_text("PELCRO_API_KEY=from-file\nPELCRO_SITE_ID=5\n")
    s = Settings.from_env({"PELCRO_SITE_ID": "6"}, dotenv=dotenv)
    assert s.api_key == Secret("from-file") and s.site_ids == (6,)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PELCRO_MAX_DELETE_SHARE": "abc"}, "PELCRO_MAX_DELETE_SHARE must be a share"),
        ({"PELCRO_MAX_DELETE_SHARE": "1.5"}, "PELCRO_MAX_DELETE_SHARE must be a share"),
        ({"PELCRO_RATE_LIMIT": "-5"}, "PELCRO_RATE_LIMIT must be requests per minute"),
        ({"DATABASE_URL": "garbage"}, "DATABASE_URL is not a URL"),
        ({"DATABASE_URL": "mysql://h/db"}, "DATABASE_URL must be a Postgres URL"),
        ({"PELCRO_BUDGET_URL": "nope"}, "PELCRO_BUDGET_URL is not a URL"),
        ({"PELCRO_BUDGET_URL": "warehouse"}, "PELCRO_BUDGET_URL=warehouse needs DATABASE_URL"),
        ({"PELCRO_MARTS_SCHEMA": "Marts"}, "PELCRO_MARTS_SCHEMA must be a lowercase"),
        ({"PELCRO_RECONCILE_WINDOW": "6"}, "PELCRO_RECONCILE_WINDOW must be a duration"),
        ({"PELCRO_RECONCILE_WINDOW": "0h"}, "PELCRO_RECONCILE_WINDOW must be a duration"),
        ({"PELCRO_RECONCILE_WINDOW": "6h and a bit"}, "PELCRO_RECONCILE_WINDOW must be"),
        ({"PELCRO_ACCOUNTS": "1st"}, "PELCRO_ACCOUNTS must list account names"),
        ({"PELCRO_DEBUG": "maybe"}, "PELCRO_DEBUG must be 1 or 0"),
        ({"PELCRO_FAST_CRON": "often"}, "PELCRO_FAST_CRON must be a cron expression"),
        ({"PELCRO_SYNC_CRON": "often"}, "PELCRO_FAST_CRON must be a cron expression"),
        ({"PELCRO_FRESHNESS_SCAN_HOURS": "-1"}, "PELCRO_FRESHNESS_SCAN_HOURS must be a positive"),
        ({"PELCRO_FRESHNESS_FAST_MINUTES": "x"}, "PELCRO_FRESHNESS_FAST_MINUTES must be"),
        ({"PELCRO_MIGRATIONS_DIR": "/nonexistent"}, "PELCRO_MIGRATIONS_DIR must be an Alembic"),
    ],
    ids=lambda v: next(iter(v)) if isinstance(v, dict) else "",
)
def test_every_variable_is_validated_at_load(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(**env)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("6h", timedelta(hours=6)),
        ("1h30m", timedelta(minutes=90)),
        ("45s", timedelta(seconds=45)),
        ("2d", timedelta(days=2)),
        ("1.5h", timedelta(minutes=90)),
    ],
    ids=["90m", "6h", "1h30m", "45s", "2d", "1.5h"],
)
def test_reconcile_window_durations(raw: str, expected: timedelta) -> None:
    assert load(PELCRO_RECONCILE_WINDOW=raw).reconcile_window == expected


def test_new_settings_defaults() -> None:
    s = load()
    assert s.marts_schema == "pelcro_marts" and s.reconcile_window == timedelta(hours=6)
    assert s.max_delete_share == 0.1 and s.data_dir == Path(".data") and not s.debug
    assert (s.fast_cron, s.reconcile_cron) == ("*/15 * * * *", "0 3 * * *")
    assert s.freshness_fast == timedelta(hours=1) and s.freshness_scan == timedelta(hours=26)


def test_values_are_typed() -> None:
    s = load(
        PELCRO_MAX_DELETE_SHARE="0.6",
        PELCRO_MARTS_SCHEMA="marts",
        PELCRO_DEBUG="1",
        PELCRO_SYNC_CRON="*/5 * * * *",
        PELCRO_FRESHNESS_FAST_MINUTES="90",
        DATABASE_URL="postgres://u@h/db",
        PELCRO_BUDGET_URL="Warehouse",
    )
    assert s.max_delete_share == 0.6 and s.marts_schema == "marts" and s.debug
    assert s.fast_cron == "*/5 * * * *"  # the old name still works
    assert s.freshness_fast == timedelta(minutes=90)
    assert s.database_url == "postgresql+psycopg://u@h/db" and s.budget_url == "warehouse"


def test_read_validates_one_variable_like_from_env() -> None:
    assert read("PELCRO_MAX_DELETE_SHARE", {"PELCRO_MAX_DELETE_SHARE": " 0.25 "}) == 0.25
    assert read("PELCRO_MAX_DELETE_SHARE", {}) == 0.1
    with pytest.raises(ConfigError, match="PELCRO_MAX_DELETE_SHARE must be a share"):
        read("PELCRO_MAX_DELETE_SHARE", {"PELCRO_MAX_DELETE_SHARE": "lots"})


def test_a_bad_database_url_does_not_echo_its_password() -> None:
    with pytest.raises(ConfigError) as info:
        load(DATABASE_URL="mysql://user:hunter2@db/x")
    assert "hunter2" not in str(info.value)
