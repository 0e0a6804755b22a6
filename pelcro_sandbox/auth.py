"""Accounts, API keys (active / revoked / deleted, optionally restricted) and OAuth tokens."""

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pelcro_sandbox.errors import UNAUTHENTICATED, ApiError, message

# INFERRED: a restricted (collaborator-type) key may read customers and the catalogue but
# not money; the docs only say 403 means "this key may not use the endpoint".
RESTRICTED_ENTITIES = frozenset({"invoices", "charges", "refunds", "bills", "vendors"})


@dataclass
class Account:
    id: int
    company: str
    country: str
    currency: str
    sites: list[dict[str, Any]]
    is_enterprise: bool = True

    @property
    def site_ids(self) -> list[int]:
        return [s["id"] for s in self.sites]


@dataclass
class ApiKey:
    account_id: int
    status: str = "active"  # active | revoked | deleted (deleted never comes back)
    restricted: bool = False
    revoked_at: float | None = None


@dataclass
class Token:
    account_id: int
    expires_at: float


def jwt_like(seed_material: str | None = None) -> str:
    """A JWT-looking opaque string, like Pelcro's "eyJ0eXAi..." keys (DOCUMENTED example)."""
    raw = (
        hashlib.sha256(seed_material.encode()).digest() * 2
        if seed_material
        else secrets.token_bytes(64)
    )
    body = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return f"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.{body[:43]}.{body[43:]}"


@dataclass
class KeyStore:
    """Thread-safe registry of keys and tokens; answers `authenticate(bearer)`."""

    keys: dict[str, ApiKey] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_key(
        self,
        account_id: int,
        *,
        restricted: bool = False,
        seed_material: str | None = None,
        value: str | None = None,
    ) -> str:
        """A new active key; `value` registers a given key string (tests use distinctive ones)."""
        key = value or jwt_like(seed_material)
        with self.lock:
            self.keys[key] = ApiKey(account_id, restricted=restricted)
        return key

    def set_status(self, key: str, status: str) -> None:
        with self.lock:
            entry = self.keys.get(key)
            if entry is None:
                raise KeyError("unknown API key")
            if entry.status == "deleted":
                raise ValueError("a deleted key cannot be changed")
            if status == "deleted" and entry.status != "revoked":
                # DOCUMENTED: only revoked keys can be deleted.
                raise ValueError("revoke a key before deleting it")
            entry.status = status
            entry.revoked_at = time.time() if status == "revoked" else None

    def issue_token(self, account_id: int, ttl: int) -> str:
        token = jwt_like()
        with self.lock:
            self.tokens[token] = Token(account_id, time.time() + ttl)
        return token

    def expire_tokens(self) -> None:
        with self.lock:
            for token in self.tokens.values():
                token.expires_at = 0.0

    def authenticate(self, header: str | None) -> tuple[int, bool]:
        """(account id, restricted) for a valid Bearer credential, else ApiError 401."""
        if not header or not header.lower().startswith("bearer "):
            raise UNAUTHENTICATED
        credential = header[7:].strip()
        with self.lock:
            key = self.keys.get(credential)
            if key is not None:
                if key.status != "active":
                    raise UNAUTHENTICATED
                return key.account_id, key.restricted
            token = self.tokens.get(credential)
        if token is None:
            raise UNAUTHENTICATED
        if token.expires_at <= time.time():
            # INFERRED: an expired Passport token gets the same Laravel 401 body.
            raise UNAUTHENTICATED
        return token.account_id, False


def check_permission(entity: str | None, restricted: bool) -> None:
    if restricted and entity in RESTRICTED_ENTITIES:
        raise message(403, "This action is unauthorized. Contact the account owner.")


def resolve_site(raw: str | None, account: Account, all_accounts: list[Account]) -> int:
    """The site id from the query, validated against the caller's account (README §4)."""
    if raw is None or raw == "":
        raise ApiError(400, {"errors": {"site_id": ["The site id field is required."]}})
    try:
        site = int(raw)
    except ValueError:
        # INFERRED: Laravel's integer rule wording.
        raise ApiError(400, {"errors": {"site_id": ["The site id must be an integer."]}}) from None
    if site in account.site_ids:
        return site
    if any(site in other.site_ids for other in all_accounts):
        # INFERRED: README §4 suggests 403 for another account's site.
        raise ApiError(
            403, {"error": {"status": 403, "message": "You do not have access to this site."}}
        )
    # INFERRED: README §4 suggests 404 for a site that does not exist.
    raise ApiError(404, {"error": {"status": 404, "message": "Site not found."}})
