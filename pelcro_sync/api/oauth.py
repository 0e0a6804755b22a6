"""OAuth 2.0 authorization-code flow: the authorize URL, and a code exchanged for a token."""

import time
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import orjson

from pelcro_sync.config import Secret, Settings
from pelcro_sync.errors import ConfigError, PelcroSyncError, error_from_response
from pelcro_sync.redact import redact

# Pelcro documents 172800 s (two days); used when a token response omits expires_in.
DEFAULT_EXPIRES_IN = 172_800


@dataclass(frozen=True)
class Token:
    """An access token from `/oauth/token`; the secrets stay wrapped."""

    token_type: str
    access_token: Secret
    expires_in: int
    expires_at: float  # unix seconds
    refresh_token: Secret | None = None


class OAuthError(PelcroSyncError):
    """The token endpoint refused the code or answered with something unusable."""


def _require(settings: Settings, *, secret: bool) -> tuple[str, str]:
    missing = [
        name
        for name, value in (
            ("PELCRO_CLIENT_ID", settings.client_id),
            ("PELCRO_CLIENT_SECRET", settings.client_secret if secret else "n/a"),
            ("PELCRO_REDIRECT_URI", settings.redirect_uri),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            f"OAuth needs {', '.join(missing)}: create an application in Pelcro under "
            "Settings > Applications and set its id, secret and redirect URL"
        )
    assert settings.client_id and settings.redirect_uri
    return settings.client_id, settings.redirect_uri


def authorize_url(settings: Settings) -> str:
    """Where to send the account owner to approve access; Pelcro redirects back with ?code=."""
    client_id, redirect_uri = _require(settings, secret=False)
    query = urlencode(
        {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "response_mode": "query",
        }
    )
    return f"{settings.oauth_url.rstrip('/')}/oauth/authorize?{query}"


def exchange_code(
    settings: Settings,
    code: str,
    *,
    transport: httpx.BaseTransport | None = None,
    timeout: float = 30.0,
    now: float | None = None,
) -> Token:
    """POST the code to `/oauth/token` and return the token; one attempt (a code is single-use)."""
    client_id, redirect_uri = _require(settings, secret=True)
    assert settings.client_secret is not None
    code = code.strip()
    if not code:
        raise ConfigError("the authorization code is empty: copy the `code` value from the URL")
    secrets = [settings.client_secret.reveal(), code]
    payload = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "client_secret": secrets[0],
        "redirect_uri": redirect_uri,
        "code": code,
    }
    where = "POST /oauth/token"
    try:
        with httpx.Client(transport=transport, timeout=timeout) as http:
            response = http.post(
                f"{settings.oauth_url.rstrip('/')}/oauth/token",
                content=orjson.dumps(payload),
                headers={"Content-Type": "application/json", "Accept": "application/json"},
            )
    except httpx.HTTPError as exc:
        text = redact(f"{type(exc).__name__}: {exc}", secrets)
        raise OAuthError(f"{where}: could not reach {settings.oauth_url} ({text})") from None
    if not response.is_success:
        error = error_from_response(
            status=response.status_code, where=where, body=response.content, secrets=secrets
        )
        raise OAuthError(
            f"{where}: the code was refused (HTTP {response.status_code}: {error.detail}); "
            "codes are single-use and short-lived: run `pelcro-sync oauth url` again"
        ) from None
    return _parse_token(response.content, now=time.time() if now is None else now)


def _parse_token(body: bytes, *, now: float) -> Token:
    try:
        data = orjson.loads(body)
        access = data["access_token"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise OAuthError("POST /oauth/token: the answer held no access_token") from None
    if not isinstance(access, str) or not access:
        raise OAuthError("POST /oauth/token: the answer held no access_token")
    try:
        expires_in = int(data.get("expires_in") or DEFAULT_EXPIRES_IN)
    except (TypeError, ValueError):
        expires_in = DEFAULT_EXPIRES_IN
    refresh = data.get("refresh_token")
    return Token(
        token_type=str(data.get("token_type") or "Bearer"),
        access_token=Secret(access),
        expires_in=expires_in,
        expires_at=now + expires_in,
        refresh_token=Secret(refresh) if isinstance(refresh, str) and refresh else None,
    )
