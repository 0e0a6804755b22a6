"""OAuth 2.0 authorization-code flow, as Pelcro's docs and Laravel Passport describe it."""

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from pelcro_sandbox.auth import KeyStore
from pelcro_sandbox.errors import ApiError

CODE_TTL = 600  # INFERRED: Passport's default authorization codes live 10 minutes


@dataclass(frozen=True)
class OAuthClient:
    """A registered application (Settings > Applications): id, secret, redirect URL."""

    client_id: str
    client_secret: str
    redirect_uri: str
    account_id: int


def _oauth_error(status: int, error: str, description: str) -> ApiError:
    # INFERRED: Passport (league/oauth2-server) error body.
    return ApiError(
        status, {"error": error, "error_description": description, "message": description}
    )


@dataclass
class OAuthServer:
    """Authorize (auto-consent) and token endpoints; tokens land in the KeyStore."""

    keys: KeyStore
    token_ttl: int
    clients: dict[str, OAuthClient] = field(default_factory=dict)
    codes: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def register(
        self, account_id: int, redirect_uri: str, *, client_secret: str | None = None
    ) -> OAuthClient:
        """A new application; `client_secret` sets its secret (random by default)."""
        client = OAuthClient(
            secrets.token_hex(8),
            client_secret or secrets.token_urlsafe(30),
            redirect_uri,
            account_id,
        )
        self.clients[client.client_id] = client
        return client

    def authorize(self, params: dict[str, str]) -> str:
        """The Location of the 302 back to the application, carrying ?code=..."""
        client = self.clients.get(params.get("client_id", ""))
        if client is None:
            raise _oauth_error(401, "invalid_client", "Client authentication failed")
        if params.get("response_type") != "code":
            raise _oauth_error(
                400,
                "unsupported_response_type",
                "The authorization server does not support this response type.",
            )
        redirect = params.get("redirect_uri") or client.redirect_uri
        if redirect != client.redirect_uri:
            raise _oauth_error(401, "invalid_client", "Client authentication failed")
        code = secrets.token_urlsafe(32)
        with self.lock:
            self.codes[code] = (client.client_id, redirect, time.time() + CODE_TTL)
        separator = "&" if "?" in redirect else "?"
        return f"{redirect}{separator}{urlencode({'code': code})}"

    def token(self, body: dict[str, Any]) -> dict[str, Any]:
        """Exchange a code for {"token_type", "expires_in", "access_token"} (DOCUMENTED)."""
        if body.get("grant_type") != "authorization_code":
            raise _oauth_error(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server.",
            )
        client = self.clients.get(str(body.get("client_id", "")))
        if client is None or body.get("client_secret") != client.client_secret:
            raise _oauth_error(401, "invalid_client", "Client authentication failed")
        with self.lock:
            entry = self.codes.pop(str(body.get("code", "")), None)  # codes are single-use
        if entry is None or entry[0] != client.client_id or entry[2] < time.time():
            raise _oauth_error(
                400, "invalid_grant", "The authorization code has expired or is invalid."
            )
        if body.get("redirect_uri", entry[1]) != entry[1]:
            raise _oauth_error(400, "invalid_request", "Invalid redirect URI.")
        token = self.keys.issue_token(client.account_id, self.token_ttl)
        return {"token_type": "Bearer", "expires_in": self.token_ttl, "access_token": token}
