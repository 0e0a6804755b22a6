"""Settings from the environment: one-line validation messages, secrets that never print."""

import pytest

from pelcro_sync.config import Secret, Settings
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
