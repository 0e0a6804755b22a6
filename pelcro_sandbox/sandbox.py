"""The Sandbox: accounts, data, keys, limiter and knobs behind the emulated Core API."""

import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pelcro_sandbox.auth import Account, KeyStore
from pelcro_sandbox.config import SandboxConfig
from pelcro_sandbox.dataset import Dataset
from pelcro_sandbox.oauth import OAuthClient, OAuthServer
from pelcro_sandbox.pagecache import PageCache
from pelcro_sandbox.ratelimit import RateLimiter, Stats
from pelcro_sandbox.webhooks import WebhookSender, send_for_mutation
from pelcro_sync.entities import BY_NAME

MAIN_ACCOUNT = 100284
OTHER_ACCOUNT = 200577  # a second account, so "another account's site" is a real case
UNLIMITED_REPORTED = 100_000  # what /account says when the limiter is off
DEFAULT_REPORTED = 120  # DOCUMENTED default rate limit


class Sandbox:
    """An in-process Pelcro Core API: call `serve()` to put it on a port."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        cfg = self.config
        main_sites = [
            {
                "id": 4996 + k,
                "name": f"site-{k + 1}.acme-news.com",
                "url": f"https://site-{k + 1}.acme-news.com",
            }
            for k in range(cfg.sites)
        ]
        self.accounts = {
            MAIN_ACCOUNT: Account(MAIN_ACCOUNT, "Acme Publishing", "US", "usd", main_sites),
            OTHER_ACCOUNT: Account(
                OTHER_ACCOUNT,
                "Globex Média",
                "CA",
                "cad",
                [{"id": 7001, "name": "globex.ca", "url": "https://globex.ca"}],
                is_enterprise=False,
            ),
        }
        self.datasets = {
            MAIN_ACCOUNT: Dataset(
                seed=cfg.seed,
                customers=cfg.customers,
                site_ids=self.accounts[MAIN_ACCOUNT].site_ids,
                huge_value_bytes=cfg.huge_value_bytes,
            ),
            OTHER_ACCOUNT: Dataset(
                seed=cfg.seed + 1, customers=20, site_ids=[7001], id_offset=10**12
            ),
        }
        self.keys = KeyStore()
        self.api_key = self.keys.add_key(MAIN_ACCOUNT, seed_material=f"{cfg.seed}|main")
        self.other_api_key = self.keys.add_key(OTHER_ACCOUNT, seed_material=f"{cfg.seed}|other")
        self.limiter = RateLimiter(cfg.rate_limit, headers=cfg.rate_limit_headers)
        self.stats = Stats()
        self.stats_lock = threading.Lock()
        self.oauth = OAuthServer(self.keys, cfg.token_ttl)
        self.pages = PageCache() if cfg.page_cache else None
        self.oauth_client: OAuthClient = self.oauth.register(
            MAIN_ACCOUNT, "http://127.0.0.1/oauth/callback"
        )
        # One sender for the sandbox's life: its clock keeps `created` increasing across mutations.
        self.webhooks = WebhookSender(self.datasets)

    # --- identity ----------------------------------------------------------------------
    @property
    def site_ids(self) -> list[int]:
        return self.accounts[MAIN_ACCOUNT].site_ids

    @property
    def other_site_id(self) -> int:
        return self.accounts[OTHER_ACCOUNT].site_ids[0]

    @property
    def dataset(self) -> Dataset:
        return self.datasets[MAIN_ACCOUNT]

    @property
    def account(self) -> dict[str, Any]:
        return self.account_payload(MAIN_ACCOUNT)

    def account_payload(self, account_id: int) -> dict[str, Any]:
        acct = self.accounts[account_id]
        limit = self.limiter.limit
        return {
            "id": acct.id,
            "company": acct.company,
            "country": acct.country,
            "default_currency": acct.currency,
            "is_enterprise": acct.is_enterprise,
            "taxes_enabled": True,
            "api_core_rate_limit": UNLIMITED_REPORTED if limit is None else limit,
            "payment_gateway": "stripe",
            "sites": [dict(s) for s in acct.sites],
        }

    # --- truth for tests ---------------------------------------------------------------
    def truth(self, entity: str, site_id: int) -> list[dict[str, Any]]:
        """Exactly what the list endpoint for (entity, site) returns over all pages, now."""
        return list(self.iter_truth(entity, site_id))

    def iter_truth(self, entity: str, site_id: int) -> Iterator[dict[str, Any]]:
        if entity not in BY_NAME:
            raise ValueError(f"unknown entity {entity!r}")
        for account_id, acct in self.accounts.items():
            if site_id in acct.site_ids:
                return self.datasets[account_id].iter_records(entity, site_id)
        raise ValueError(f"unknown site {site_id}")

    # --- keys and tokens ---------------------------------------------------------------
    def create_key(
        self, *, restricted: bool = False, account_id: int = MAIN_ACCOUNT, value: str | None = None
    ) -> str:
        """A new active key (random, or `value` when given)."""
        return self.keys.add_key(account_id, restricted=restricted, value=value)

    def revoke_key(self, key: str) -> None:
        self.keys.set_status(key, "revoked")

    def reactivate_key(self, key: str) -> None:
        self.keys.set_status(key, "active")

    def delete_key(self, key: str) -> None:
        """Delete a key for good (revoking it first, as the platform requires)."""
        if self.keys.keys.get(key) and self.keys.keys[key].status == "active":
            self.revoke_key(key)
        self.keys.set_status(key, "deleted")

    def expire_tokens(self) -> None:
        self.keys.expire_tokens()

    # --- knobs -------------------------------------------------------------------------
    def set_rate_limit(self, limit: int | None) -> None:
        self.config.rate_limit = limit
        self.limiter.set_limit(limit)

    def set_latency(self, seconds: float, *, jitter: float = 0.0) -> None:
        self.config.latency = seconds
        self.config.latency_jitter = jitter

    def set_faults(self, **rates: float) -> None:
        """Set fault rates, e.g. set_faults(html_502=0.1, drop=0.05); others keep theirs."""
        self.config.faults.update(**rates)

    def reset_stats(self) -> None:
        with self.stats_lock:
            self.stats = Stats()

    # --- mutations ---------------------------------------------------------------------
    def mutate(
        self,
        *,
        updates: Mapping[str, Mapping[int, Mapping[str, Any]]] | None = None,
        creates: Mapping[str, Iterable[Mapping[str, Any]] | int] | None = None,
        deletes: Mapping[str, Iterable[int]] | None = None,
        account_id: int = MAIN_ACCOUNT,
    ) -> dict[str, dict[str, list[int]]]:
        """Change data between syncs; returns the ids updated, created and deleted.

        Updates bump `updated_at`; creates append new ids visible on every site; deleting a
        customer soft-deletes its subscriptions, memberships, sources and addresses.
        """
        data = self.datasets[account_id]
        result: dict[str, dict[str, list[int]]] = {"updated": {}, "created": {}, "deleted": {}}
        for entity, changes in (updates or {}).items():
            for record_id, fields in changes.items():
                data.update(_entity(entity), int(record_id), dict(fields))
                result["updated"].setdefault(entity, []).append(int(record_id))
        for entity, specs in (creates or {}).items():
            items = [{}] * specs if isinstance(specs, int) else list(specs)
            ids = [data.create(_entity(entity), dict(fields)) for fields in items]
            result["created"].setdefault(entity, []).extend(ids)
        for entity, doomed in (deletes or {}).items():
            for record_id in doomed:
                for hit_entity, hit_id in data.delete(_entity(entity), int(record_id)):
                    result["deleted"].setdefault(hit_entity, []).append(hit_id)
        url, secret = self.config.webhook_url, self.config.webhook_secret
        if url and secret:
            send_for_mutation(self.webhooks, result, url=url, secret=secret, account_id=account_id)
        return result


def _entity(name: str) -> str:
    if name not in BY_NAME:
        raise ValueError(f"unknown entity {name!r}")
    return name
