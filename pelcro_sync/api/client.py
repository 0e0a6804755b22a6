"""PelcroClient: the Core API over httpx, with auth, site_id, pacing, retries and redaction."""

import functools
import json
import logging
import random
import re
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx
import orjson

from pelcro_sync.api import budget_pg, pagination, ratelimit, retry
from pelcro_sync.api.pagination import Page
from pelcro_sync.config import Settings
from pelcro_sync.entities import Entity
from pelcro_sync.errors import (
    ApiError,
    MalformedBodyError,
    TimeLimitReached,
    TransportError,
    error_from_response,
)
from pelcro_sync.redact import redact

log = logging.getLogger(__name__)

USER_AGENT = "pelcro-sync/0.1.0"
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=120.0)
DEFAULT_RATE_LIMIT = 120  # the documented default, used only until the account says otherwise
TOKEN_EXPIRY_WARNING = 6 * 3600  # warn when an OAuth token has less than this left
DEFAULT_POLICY = retry.RetryPolicy()
_SCAN_SORT = object()  # sentinel: "use the entity's scan_sort"
# List endpoints the docs do not show (README §0: only create and delete of sources are
# documented). An account may answer 404 or 405 there: the entity is not offered.
UNDOCUMENTED_LISTS = frozenset({"sources"})


class EndpointUnavailableError(ApiError):
    """An undocumented list endpoint answered 404 or 405: this account does not offer it."""


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("pelcro-sync")
    except Exception:  # not installed (e.g. run from a checkout): the fallback is fine
        return USER_AGENT.split("/")[1]


class ClientStats:
    """Thread-safe counters: requests, retries, 429s, bytes read and answers per status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = self.retries = self.throttled = self.bytes = 0
        self.statuses: Counter[int] = Counter()
        self.transport_errors = 0

    def record(self, *, status: int | None = None, nbytes: int = 0, retried: bool = False) -> None:
        with self._lock:
            self.requests += 1
            self.bytes += nbytes
            self.retries += retried
            if status is None:
                self.transport_errors += 1
            else:
                self.statuses[status] += 1
                self.throttled += status == 429

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "retries": self.retries,
                "throttled": self.throttled,
                "bytes": self.bytes,
                "transport_errors": self.transport_errors,
                "statuses": dict(self.statuses),
            }

    def __repr__(self) -> str:
        return f"ClientStats({self.snapshot()})"


class PelcroClient:
    """One httpx connection pool to the Core API; use as a context manager.

    Every attempt (retries included) waits for a slot from the shared per-account budget,
    so all clients and threads of the process stay under the account's rate limit together.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        budget: ratelimit.Budget | None = None,
        concurrency: int = 8,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        policy: retry.RetryPolicy = DEFAULT_POLICY,
        rng: retry.Rng | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._secret = settings.require_credential().reveal()
        self.concurrency = max(1, concurrency)
        self._budget = budget
        self._budget_lock = threading.Lock()
        self._policy, self._rng, self._sleep = policy, rng or random.Random(), sleep
        self._account: dict[str, Any] | None = None
        self._account_key = f"{settings.base_url.rstrip('/')}#{ratelimit.fingerprint(self._secret)}"
        self.stats = ClientStats()
        self._base_url = settings.base_url.rstrip("/") + "/"
        self._http = httpx.Client(
            base_url=self._base_url,
            headers={
                "Authorization": f"Bearer {self._secret}",
                "Accept": "application/json",
                "User-Agent": f"pelcro-sync/{_version()}",
            },
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=self.concurrency * 2, max_keepalive_connections=self.concurrency
            ),
            transport=transport,
            verify=_tls_context(),
        )
        # `sync --time-limit`: once this says stop, no further request goes out (set by
        # the scan for its pages only; see `stop_sending`).
        self.stop_sending: Callable[[], bool] | None = None
        self._warn_if_token_expiring()

    def __enter__(self) -> "PelcroClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:
        return (
            f"PelcroClient(base_url={self.settings.base_url!r}, "
            f"credential={self.settings.credential_kind!r})"
        )

    # -- account ---------------------------------------------------------------------------

    def account(self) -> dict[str, Any]:
        """`GET /account` (no site_id): the account, its sites and its rate limit. Cached."""
        if self._account is None:
            self._account = _ACCOUNTS.get(self._account_key)
        if self._account is None:
            # While the rate is unknown this request is paced at the documented default, so
            # many processes starting at once cannot burst past the account's limit.
            known = self._budget is not None or self.settings.rate_limit is not None
            body = self.request_json("GET", "/account", params={}, paced=known)
            self._account = _ACCOUNTS[self._account_key] = body["data"]
        return self._account

    def rate_limit(self) -> int:
        """Requests per minute to stay under: PELCRO_RATE_LIMIT, else the account's."""
        if self.settings.rate_limit is not None:
            return self.settings.rate_limit
        value = self.account().get("api_core_rate_limit")
        if isinstance(value, int | str) and str(value).isdigit() and int(value) > 0:
            return int(value)
        return DEFAULT_RATE_LIMIT

    def site_ids(self) -> tuple[int, ...]:
        """PELCRO_SITE_ID when set, else every site the account lists."""
        if self.settings.site_ids:
            return self.settings.site_ids
        return tuple(int(site["id"]) for site in self.account().get("sites") or ())

    def webhook_endpoints(self, *, site_id: int | None = None) -> list[dict[str, Any]]:
        """`GET /webhooks`: the account's registered endpoints (at most 10, one page).

        INFERRED: `site_id` in the query, as on every Core endpoint but /account."""
        params = {} if site_id is None else {"site_id": site_id}
        data = self.request_json("GET", "/webhooks", params=params)["data"]
        return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []

    # -- records ---------------------------------------------------------------------------

    def get(self, entity: Entity, site_id: int, record_id: int) -> dict[str, Any]:
        """One record by id (`{"data": {...}}`), every field kept."""
        path = entity.get_path.format(id=int(record_id))
        return self.request_json("GET", path, params={"site_id": site_id})["data"]

    def iter_pages(
        self,
        entity: Entity,
        *,
        site_id: int,
        sort: str | object | None = _SCAN_SORT,
        start_page: int = 1,
        limit: int = pagination.PAGE_SIZE,
        concurrency: int | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> Iterator[Page]:
        """Pages of one entity for one site, in order; `sort` defaults to `entity.scan_sort`
        (pass `entity.newest_first` for the fast path, None for the API's default order).
        `filters`: documented filter parameters (`pelcro_sync.api.filters`).

        Raises:
            EndpointUnavailableError: an undocumented list (sources) answered 404 or 405.
        """
        order = entity.scan_sort if sort is _SCAN_SORT else sort
        assert order is None or isinstance(order, str)

        def fetch(page: int) -> dict[str, Any]:
            params = pagination.page_params(
                site_id=site_id, page=page, limit=limit, sort=order, filters=filters
            )
            return self._list(entity, params)

        return pagination.iter_pages(
            fetch, start_page=start_page, concurrency=concurrency or self.concurrency
        )

    def total(
        self, entity: Entity, *, site_id: int, filters: Mapping[str, str] | None = None
    ) -> int:
        """How many records the list holds (`meta.total`), for one request of one record."""
        params = pagination.page_params(site_id=site_id, page=1, limit=1, filters=filters)
        page = pagination.parse_page(1, self._list(entity, params))
        if page.total is None:  # no meta: the page is all there is to count
            return len(page.records)
        return page.total

    def _list(self, entity: Entity, params: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return self.request_json("GET", entity.path, params=params, check=_check_list)
        except ApiError as exc:
            if entity.name in UNDOCUMENTED_LISTS and exc.status in (404, 405):
                raise EndpointUnavailableError(
                    f"{entity.name}: not available on this account (GET {entity.path} "
                    f"answered {exc.status}; the docs do not list it)",
                    status=exc.status,
                    where=exc.where,
                    detail=exc.detail,
                ) from None
            raise

    # -- the retry loop --------------------------------------------------------------------

    def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any],
        check: Callable[[dict[str, Any]], None] | None = None,
        paced: bool = True,
    ) -> dict[str, Any]:
        """Send one request, retrying per `retry.decide`; return the parsed JSON envelope."""
        where = _where(method, path, params)
        budget = self._get_budget() if paced else self._bootstrap_budget()
        for attempt in range(1, self._policy.max_attempts + 1):
            budget.acquire()
            # Checked after the wait for a slot: a page queued before the limit but due after
            # it is never sent, so a time-boxed scan spends nothing it does not keep.
            if self.stop_sending is not None and self.stop_sending():
                raise TimeLimitReached(f"{where}: not sent, the time limit is up")
            try:
                response, body = self._send(method, self._url(path, params))
            except httpx.HTTPError as exc:
                self.stats.record(retried=attempt > 1)
                if self._http.is_closed:
                    # A page fetch still in flight when its scan stopped early (an error,
                    # a closed iterator): nobody waits for it, so no retry and no warning.
                    raise TransportError(f"{where}: the client was closed") from None
                self._after_failure(attempt, where, error=exc)
                continue
            self.stats.record(status=response.status_code, nbytes=len(body), retried=attempt > 1)
            if response.is_success:
                try:
                    return _parse_ok(body, check)
                except MalformedBodyError as exc:
                    self._after_failure(attempt, where, error=exc)
                    continue
            self._after_status(attempt, where, response, body, budget)
        raise AssertionError("unreachable: the last attempt raises")  # pragma: no cover

    def _send(self, method: str, url: str) -> tuple[httpx.Response, bytes]:
        """The response (closed) and its body. Read as a stream, so the body is ours alone:
        httpx's response and its stream refer to each other, and a body kept on the
        response would live until the cyclic collector, which runs rarely during a sync
        (`pelcro_sync.collector`), finds that cycle."""
        with self._http.stream(method, url) as response:
            return response, b"".join(response.iter_bytes())

    def _url(self, path: str, params: Mapping[str, Any]) -> str:
        """The absolute URL, query encoded by httpx's own rules: handing httpx a relative
        path and a params dict makes it parse and merge URLs three times a request (~0.1 ms,
        a microsecond per record of a page)."""
        query = str(httpx.QueryParams(params))
        return f"{self._base_url}{path.lstrip('/')}" + (f"?{query}" if query else "")

    def _after_failure(self, attempt: int, where: str, *, error: BaseException) -> None:
        decision = retry.decide(attempt=attempt, error=error, policy=self._policy, rng=self._rng)
        text = redact(f"{type(error).__name__}: {error}", [self._secret])
        if not decision.retry:
            raise TransportError(f"{where}: no usable answer ({text}); {decision.reason}") from None
        log.warning("%s: %s; retrying in %.1f s", where, text, decision.delay)
        self._sleep(decision.delay)

    def _after_status(
        self,
        attempt: int,
        where: str,
        response: httpx.Response,
        body: bytes,
        budget: ratelimit.Budget,
    ) -> None:
        status = response.status_code
        retry_after = retry.parse_retry_after(response.headers.get("Retry-After"), now=time.time())
        if status == 429:
            # Tell the shared budget so every thread holds off, not just this one.
            budget.penalize(retry_after if retry_after is not None else 1.0)
        decision = retry.decide(
            attempt=attempt,
            status=status,
            retry_after=retry_after,
            policy=self._policy,
            rng=self._rng,
        )
        if not decision.retry:
            raise error_from_response(
                status=status,
                where=where,
                body=body,
                retry_after=retry_after,
                credential_kind=self.settings.credential_kind,
                secrets=[self._secret],
            )
        log.warning("%s: HTTP %s; retrying in %.1f s", where, status, decision.delay)
        self._sleep(decision.delay)

    def _get_budget(self) -> ratelimit.Budget:
        """The shared budget of this account (Postgres when PELCRO_BUDGET_URL is set, else
        machine-wide), made on first use (learning the rate may
        take one `GET /account` first, paced at the documented default)."""
        if self._budget is None:
            rate = self.rate_limit()
            with self._budget_lock:
                if self._budget is None:
                    self._budget = budget_pg.configured_budget(
                        self.settings, credential=self._secret, per_minute=rate
                    )
        return self._budget

    def _bootstrap_budget(self) -> ratelimit.Budget:
        """Paces `GET /account` before the rate is known: by the rate another process sharing
        the budget learnt, else the documented default."""
        probe = budget_pg.configured_budget(
            self.settings, credential=self._secret, per_minute=DEFAULT_RATE_LIMIT
        )
        recorded = getattr(probe, "recorded_rate", lambda: None)()
        if recorded is None or recorded == DEFAULT_RATE_LIMIT:
            return probe
        return budget_pg.configured_budget(
            self.settings, credential=self._secret, per_minute=recorded
        )

    def _warn_if_token_expiring(self) -> None:
        expires = self.settings.access_token_expires_at
        if not self.settings.access_token or expires is None:
            return
        left = expires - time.time()
        if left < TOKEN_EXPIRY_WARNING:
            state = "has expired" if left <= 0 else f"expires in {left / 3600:.1f} h"
            log.warning(
                "the OAuth access token %s; run `pelcro-sync oauth url` and "
                "`pelcro-sync oauth exchange CODE` for a new one",
                state,
            )


# `GET /account` answers, per base URL and credential, for the life of the process: every
# client of a sync (one per entity) needs the rate limit and sites, and asking again for
# each would spend the account's budget on the same answer.
_ACCOUNTS: dict[str, dict[str, Any]] = {}


def forget_accounts() -> None:
    """Drop the cached `GET /account` answers (tests that change an account's settings)."""
    _ACCOUNTS.clear()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The certificate-verifying TLS context every client shares: httpx would load the CA
    bundle for each client (~25 ms), and a run makes one client per entity and site."""
    return httpx.create_ssl_context()


def _where(method: str, path: str, params: Mapping[str, Any]) -> str:
    """ "GET /customers?site_id=4": only site_id (not secret) from the query, for messages."""
    site = params.get("site_id")
    return f"{method} /{path.lstrip('/')}" + (f"?site_id={site}" if site is not None else "")


# Beyond 64 bits: above 2**64 - 1 (20 digits or more), below -2**63 (19 or more).
_BIG_INT = re.compile(rb"[:\[,]\s*(?:-\d{19,}|\d{20,})")
# The regex costs three times orjson's whole parse on a 70 KB page; such a run of digits,
# found by mapping every digit to "0" and searching bytes, rules it out ten times faster.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_TWENTY_DIGITS, _MINUS_NINETEEN = b"0" * 20, b"-" + b"0" * 19


def _may_hold_big_int(body: bytes) -> bool:
    digits = body.translate(_DIGITS_AS_ZERO)
    return (_TWENTY_DIGITS in digits or _MINUS_NINETEEN in digits) and bool(_BIG_INT.search(body))


def _parse_ok(body: bytes, check: Callable[[dict[str, Any]], None] | None) -> dict[str, Any]:
    """A 2xx body must be a JSON object with `data`; anything else is retried as malformed."""
    try:
        # orjson reads an integer beyond 64 bits as a float, losing digits: such bodies
        # (rare) take the exact stdlib parser.
        parsed = json.loads(body) if _may_hold_big_int(body) else orjson.loads(body)
    except ValueError:  # orjson's JSONDecodeError is one
        # orjson refuses a lone surrogate escape ("\\ud800"), which is valid JSON: without
        # this a record carrying one would fail its page on every attempt, forever.
        try:
            parsed = json.loads(body)
        except ValueError:
            raise MalformedBodyError(f"2xx body is not JSON ({len(body)} bytes)") from None
    if not isinstance(parsed, dict) or "data" not in parsed:
        raise MalformedBodyError("2xx body is not a JSON object with a `data` key")
    if check is not None:
        check(parsed)
    return parsed


def _check_list(body: dict[str, Any]) -> None:
    pagination.check_list_body(body)
