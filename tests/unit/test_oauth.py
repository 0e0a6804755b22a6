"""OAuth: the authorize URL, the token exchange request, and errors without secrets."""

from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest

from pelcro_sync.api.oauth import OAuthError, authorize_url, exchange_code
from pelcro_sync.config import Secret, Settings
from pelcro_sync.errors import ConfigError

CLIENT_SECRET = "client-secret-do-not-print-123"
CODE = "def50200-auth-code-do-not-print"
SETTINGS = Settings(
    client_id="42", client_secret=Secret(CLIENT_SECRET),
    redirect_uri="https://example.com/callback", oauth_url="https://oauth.test",
)  # fmt: skip


def test_authorize_url() -> None:
    url = urlsplit(authorize_url(SETTINGS))
    assert (url.scheme, url.netloc, url.path) == ("https", "oauth.test", "/oauth/authorize")
    assert parse_qs(url.query) == {
        "client_id": ["42"], "redirect_uri": ["https://example.com/callback"],
        "response_type": ["code"], "response_mode": ["query"],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "missing"),
    [
        (Settings(), "PELCRO_CLIENT_ID, PELCRO_CLIENT_SECRET, PELCRO_REDIRECT_URI"),
        (Settings(client_id="1", redirect_uri="https://x"), "PELCRO_CLIENT_SECRET"),
        (Settings(client_id="1", client_secret=Secret("s")), "PELCRO_REDIRECT_URI"),
    ],
    ids=["nothing", "no-secret", "no-redirect"],
)
def test_missing_settings_are_named(settings: Settings, missing: str) -> None:
    with pytest.raises(ConfigError, match=f"OAuth needs {missing}:"):
        exchange_code(settings, CODE)


def test_authorize_url_does_not_need_the_secret() -> None:
    assert authorize_url(Settings(client_id="1", redirect_uri="https://x"))


def test_exchange_sends_the_documented_json_and_returns_a_token() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"token_type": "Bearer", "expires_in": 172800,
                                         "access_token": "tok-abc"})  # fmt: skip

    token = exchange_code(SETTINGS, f" {CODE}\n", transport=httpx.MockTransport(handler), now=100)
    (req,) = sent
    assert req.method == "POST" and str(req.url) == "https://oauth.test/oauth/token"
    assert req.headers["content-type"] == "application/json"
    assert orjson.loads(req.content) == {
        "grant_type": "authorization_code", "client_id": "42", "client_secret": CLIENT_SECRET,
        "redirect_uri": "https://example.com/callback", "code": CODE,
    }  # fmt: skip
    assert token.access_token.reveal() == "tok-abc" and token.token_type == "Bearer"
    assert token.expires_in == 172800 and token.expires_at == 100 + 172800
    assert "tok-abc" not in repr(token)


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(400, json={"error": "invalid_grant", "message": f"bad code {CODE}"}),
        httpx.Response(401, json={"message": f"client {CLIENT_SECRET} unknown"}),
        httpx.Response(200, json={"token_type": "Bearer"}),
        httpx.Response(200, content=b"<html>"),
    ],
    ids=["invalid-grant", "bad-client", "no-token", "html"],
)
def test_exchange_errors_never_print_the_secret_or_code(response: httpx.Response) -> None:
    with pytest.raises(OAuthError) as info:
        exchange_code(SETTINGS, CODE, transport=httpx.MockTransport(lambda r: response))
    text = str(info.value) + repr(info.value)
    assert CLIENT_SECRET not in text and CODE not in text and "\n" not in str(info.value)


def test_exchange_network_failure_is_one_line() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(OAuthError, match=r"could not reach https://oauth\.test"):
        exchange_code(SETTINGS, CODE, transport=httpx.MockTransport(handler))
