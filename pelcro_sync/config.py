"""Settings from the environment and a `.env` file, validated with one-line messages.

The variable names are the public contract (../shared/CONTRACT.md). Secrets are held in
`Secret`, whose repr and str never show the value.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from pelcro_sync.errors import ConfigError

DEFAULT_BASE_URL = "https://www.pelcro.com/api/v1/core"
DEFAULT_OAUTH_URL = "https://www.pelcro.com"
DEFAULT_SCHEMA = "pelcro"


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
        cls, environ: Mapping[str, str] | None = None, *, dotenv: Path | None = Path(".env")
    ) -> "Settings":
        """Read settings; the process environment wins over `.env`."""
        env: dict[str, str] = {}
        if dotenv is not None and dotenv.is_file():
            env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
        env.update(os.environ if environ is None else environ)

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def secret(name: str) -> Secret | None:
            value = get(name)
            if value is None:
                return None
            if any(ch.isspace() for ch in value):
                raise ConfigError(f"{name} contains whitespace; paste the value exactly")
            return Secret(value)

        return cls(
            api_key=secret("PELCRO_API_KEY"),
            access_token=secret("PELCRO_ACCESS_TOKEN"),
            client_id=get("PELCRO_CLIENT_ID"),
            client_secret=secret("PELCRO_CLIENT_SECRET"),
            redirect_uri=get("PELCRO_REDIRECT_URI"),
            site_ids=parse_site_ids(get("PELCRO_SITE_ID")),
            base_url=parse_http_url("PELCRO_BASE_URL", get("PELCRO_BASE_URL") or DEFAULT_BASE_URL),
            oauth_url=parse_http_url(
                "PELCRO_OAUTH_URL", get("PELCRO_OAUTH_URL") or DEFAULT_OAUTH_URL
            ),
            rate_limit=parse_rate_limit(get("PELCRO_RATE_LIMIT")),
            database_url=get("DATABASE_URL"),
            schema=parse_schema(get("PELCRO_SCHEMA") or DEFAULT_SCHEMA),
            webhook_secret=secret("PELCRO_WEBHOOK_SECRET"),
            access_token_expires_at=parse_expiry(get("PELCRO_ACCESS_TOKEN_EXPIRES_AT")),
            budget_url=get("PELCRO_BUDGET_URL"),
        )


def parse_site_ids(raw: str | None) -> tuple[int, ...]:
    if raw is None:
        return ()
    ids = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or int(part) <= 0:
            raise ConfigError(
                f"PELCRO_SITE_ID must be a site id (a positive integer) or several separated "
                f"by commas; got {part!r}"
            )
        ids.append(int(part))
    return tuple(dict.fromkeys(ids))


def parse_http_url(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL such as {DEFAULT_BASE_URL}; got {raw!r}")
    return raw.rstrip("/")


def parse_rate_limit(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) <= 0:
        raise ConfigError(
            f"PELCRO_RATE_LIMIT must be requests per minute (a positive integer); got {raw!r}"
        )
    return int(raw)


def parse_expiry(raw: str | None) -> float | None:
    """PELCRO_ACCESS_TOKEN_EXPIRES_AT as unix seconds; accepts unix seconds or ISO 8601."""
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            "PELCRO_ACCESS_TOKEN_EXPIRES_AT must be unix seconds or an ISO 8601 time such as "
            f"2030-01-31T12:00:00Z; got {raw!r}"
        ) from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def parse_schema(raw: str) -> str:
    if not raw.replace("_", "").isalnum() or raw[0].isdigit() or raw.lower() != raw:
        raise ConfigError(
            "PELCRO_SCHEMA must be a lowercase Postgres identifier (letters, digits, _); "
            f"got {raw!r}"
        )
    return raw
