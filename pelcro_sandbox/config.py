"""The sandbox's knobs: data size and shape, latency, rate limit and injected faults."""

from dataclasses import dataclass, field, fields, replace
from typing import Any


@dataclass
class Faults:
    """Share of Core API requests (0..1) that each fault hits; drawn per request, seeded.

    Attributes:
        html_502: an HTML "502 Bad Gateway" page, as a load balancer would send it.
        http_503: a JSON 503 (maintenance / overload).
        slow: the response is delayed by `slow_seconds` (longer than a client timeout).
        drop: headers and part of the body are sent, then the socket is closed.
        truncated: a 200 whose JSON body is cut short (Content-Length matches the cut).
    """

    html_502: float = 0.0
    http_503: float = 0.0
    slow: float = 0.0
    drop: float = 0.0
    truncated: float = 0.0
    slow_seconds: float = 5.0

    def total(self) -> float:
        return self.html_502 + self.http_503 + self.slow + self.drop + self.truncated

    def update(self, **rates: float) -> None:
        known = {f.name for f in fields(self)}
        unknown = set(rates) - known
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; choose from {sorted(known)}")
        for name, value in rates.items():
            setattr(self, name, float(value))
        if self.total() > 1.0:
            raise ValueError("fault rates add up to more than 1")


@dataclass
class SandboxConfig:
    """Everything that shapes a sandbox; all data is a pure function of these values.

    Attributes:
        seed: makes data, keys and fault draws reproducible.
        customers: number of customers; other entities are sized in proportion.
        sites: number of sites on the main account (1..9).
        rate_limit: Core API requests per rolling 60 s per account; None = unlimited.
        latency: fixed delay added to every Core API response, in seconds.
        latency_jitter: extra uniform random delay, 0..latency_jitter seconds.
        faults: injected failure rates.
        huge_value_bytes: when > 0, one customer's metadata carries a string this long.
        token_ttl: lifetime of OAuth access tokens in seconds (Pelcro: 2 days).
        webhook_url, webhook_secret: when both are set, `mutate` delivers signed webhooks
            for its changes there (see sandbox/webhooks.py).
        page_cache: meant for benchmarks: each successful Core API list or get-by-id body is
            rendered once and then served from memory (unbounded) until the data changes;
            auth, rate limit, latency and faults still apply to every request.
        sources_status: what `GET /sources` (list and by id) answers: 200, or 404 / 405 for
            an account that does not offer the undocumented list (README §0).
        webhook_endpoints: what `GET /webhooks` lists (at most 10): dicts with `url`,
            `events` (snake_case, `subscription_created`), `all_events_enabled`, `status`.
        rate_limit_headers: send `Retry-After` and `X-RateLimit-*` (INFERRED headers; the
            docs document none), or no header at all, as a real account may.
    """

    seed: int = 7
    customers: int = 300
    sites: int = 2
    rate_limit: int | None = None
    latency: float = 0.0
    latency_jitter: float = 0.0
    faults: Faults = field(default_factory=Faults)
    huge_value_bytes: int = 0
    token_ttl: int = 172800
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    page_cache: bool = False
    sources_status: int = 200
    webhook_endpoints: list[dict[str, Any]] = field(default_factory=list)
    rate_limit_headers: bool = True

    def __post_init__(self) -> None:
        if self.sources_status not in (200, 404, 405):
            raise ValueError("sources_status must be 200, 404 or 405")
        if len(self.webhook_endpoints) > 10:
            raise ValueError("an account has at most 10 webhook endpoints (DOCUMENTED)")
        if not 1 <= self.sites <= 9:
            raise ValueError("sites must be between 1 and 9")
        if self.customers < 10:
            raise ValueError("customers must be at least 10")
        if self.rate_limit is not None and self.rate_limit < 1:
            raise ValueError("rate_limit must be positive or None")
        if isinstance(self.faults, dict):
            faults = Faults()
            faults.update(**self.faults)
            self.faults = faults

    def with_fault_rate(self, rate: float) -> "SandboxConfig":
        """A copy whose total fault rate is `rate`, spread over the fast-failing kinds
        (no `slow`, which would stall a demo)."""
        faults = Faults(
            html_502=0.4 * rate,
            http_503=0.3 * rate,
            drop=0.15 * rate,
            truncated=0.15 * rate,
            slow_seconds=self.faults.slow_seconds,
        )
        return replace(self, faults=faults)
