"""PelcroClient over httpx.MockTransport: what is sent, what is retried, what never leaks."""

import logging
import threading
from collections.abc import Callable

import httpx
import orjson
import pytest

from pelcro_sync.api import client as client_module
from pelcro_sync.api.client import PelcroClient
from pelcro_sync.api.ratelimit import reset_shared_budgets
from pelcro_sync.config import Secret, Settings
from pelcro_sync.entities import get_entity
from pelcro_sync.errors import (
    AuthError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    TransportError,
    ValidationError,
)

KEY = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.unit-test-api-key"
TOKEN = "oauth-token-unit-test-secret-0123456789"
BASE = "https://api.test/api/v1/core"
ACCOUNT = {"data": {"id": 1, "api_core_rate_limit": 360,
                    "sites": [{"id": 11, "name": "a"}, {"id": 12, "name": "b"}]}}  # fmt: skip


class FakeBudget:
    def __init__(self) -> None:
        self.acquired = 0
        self.penalties: list[float] = []
        self.lock = threading.Lock()

    def acquire(self) -> float:
        with self.lock:
            self.acquired += 1
        return 0.0

    def penalize(self, seconds: float) -> None:
        self.penalties.append(seconds)


class Api:
    """A scripted Core API: per-path list of responses, then the page handler."""

    def __init__(self, *, total: int = 250, script: list | None = None) -> None:
        self.total = total
        self.script = list(script or [])  # responses/exceptions served before the normal ones
        self.requests: list[httpx.Request] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
            scripted = self.script.pop(0) if self.script else None
        if isinstance(scripted, Exception):
            raise scripted
        if scripted is not None:
            return scripted
        if request.url.path.endswith("/account"):
            return httpx.Response(200, json=ACCOUNT)
        if request.url.path.endswith("/customers/5"):
            return httpx.Response(200, json={"data": {"id": 5, "x": 1}, "status": "success"})
        return self.page(request)

    def page(self, request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("page", 1))
        limit = int(request.url.params.get("limit", 10))
        ids = range((page - 1) * limit, min(page * limit, self.total))
        last = max(1, -(-self.total // limit))
        body = {"data": [{"id": i, "unknown_field": {"nested": i}} for i in ids],
                "links": {"next": "https://elsewhere.test/customers?page=999"},
                "meta": {"current_page": page, "last_page": last, "total": self.total}}  # fmt: skip
        return httpx.Response(200, content=orjson.dumps(body))


@pytest.fixture(autouse=True)
def _fresh_budgets() -> None:
    reset_shared_budgets()


def make(
    api: Callable, *, token: bool = False, budget: FakeBudget | None = None, **settings: object
) -> tuple[PelcroClient, list[float]]:
    sleeps: list[float] = []
    cfg = Settings(
        api_key=Secret(KEY), access_token=Secret(TOKEN) if token else None, base_url=BASE,
        **settings,  # type: ignore[arg-type]
    )  # fmt: skip
    client = PelcroClient(
        cfg, transport=httpx.MockTransport(api), budget=budget or FakeBudget(),
        sleep=sleeps.append,
    )  # fmt: skip
    return client, sleeps


def test_account_is_sent_without_site_id_and_with_headers() -> None:
    api = Api()
    client, _ = make(api)
    with client:
        assert client.account()["id"] == 1
        assert client.account()["id"] == 1  # cached
    (req,) = api.requests
    assert req.url.path == "/api/v1/core/account" and "site_id" not in req.url.params
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.headers["accept"] == "application/json"
    assert req.headers["user-agent"].startswith("pelcro-sync/")


def test_oauth_token_wins_over_the_api_key() -> None:
    api = Api()
    client, _ = make(api, token=True)
    with client:
        client.account()
    assert api.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_rate_limit_and_site_ids_from_account_or_settings() -> None:
    client, _ = make(Api())
    assert client.rate_limit() == 360 and client.site_ids() == (11, 12)
    client, _ = make(Api(), rate_limit=50, site_ids=(7,))
    assert client.rate_limit() == 50 and client.site_ids() == (7,)


def test_get_sends_site_id_and_keeps_every_field() -> None:
    api = Api()
    client, _ = make(api)
    assert client.get(get_entity("customers"), 11, 5) == {"id": 5, "x": 1}
    assert api.requests[0].url.params["site_id"] == "11"


def test_iter_pages_sends_site_id_limit_sort_and_page_numbers() -> None:
    api = Api(total=250)
    budget = FakeBudget()
    client, _ = make(api, budget=budget)
    pages = list(client.iter_pages(get_entity("customers"), site_id=11))
    assert [p.number for p in pages] == [1, 2, 3]
    assert [r["id"] for p in pages for r in p.records] == list(range(250))
    assert pages[0].records[0]["unknown_field"] == {"nested": 0}
    sent = sorted((dict(r.url.params) for r in api.requests), key=lambda p: int(p["page"]))
    assert sent == [{"site_id": "11", "limit": "100", "page": str(n), "sort": "id"}
                    for n in (1, 2, 3)]  # fmt: skip
    assert all(r.url.host == "api.test" for r in api.requests)  # links.next never followed
    assert budget.acquired == 3


def test_iter_pages_sort_override_and_no_sort_entity() -> None:
    api = Api(total=5)
    client, _ = make(api)
    customers = get_entity("customers")
    list(client.iter_pages(customers, site_id=1, sort=customers.newest_first))
    list(client.iter_pages(get_entity("addresses"), site_id=1))
    assert api.requests[0].url.params["sort"] == "-id"
    assert "sort" not in api.requests[1].url.params


def test_iter_pages_resumes_from_start_page() -> None:
    api = Api(total=500)
    client, _ = make(api)
    assert [
        p.number for p in client.iter_pages(get_entity("customers"), site_id=1, start_page=4)
    ] == [4, 5]
    assert min(int(r.url.params["page"]) for r in api.requests) == 4


def too_many(retry_after: str | None = "0") -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(429, headers=headers, json={"message": "Too Many Attempts."})


def test_429_storm_is_recovered_and_the_budget_is_told() -> None:
    api = Api(total=5, script=[too_many("2"), too_many("0"), too_many(None)])
    budget = FakeBudget()
    client, sleeps = make(api, budget=budget)
    pages = list(client.iter_pages(get_entity("customers"), site_id=1))
    assert len(pages[0].records) == 5
    assert budget.penalties == [2.0, 0.0, 1.0]
    assert sleeps[:2] == [2.0, 0.0] and 0 <= sleeps[2] <= 4.0
    stats = client.stats.snapshot()
    assert stats["throttled"] == 3 and stats["retries"] == 3 and stats["requests"] == 4
    assert budget.acquired == 4  # every attempt drew on the budget


HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
REQ = httpx.Request("GET", BASE)


@pytest.mark.parametrize(
    "fault",
    [
        httpx.Response(502, content=HTML_502, headers={"content-type": "text/html"}),
        httpx.Response(503, json={"message": "down"}),
        httpx.RemoteProtocolError("Server disconnected without sending a response.", request=REQ),
        httpx.ReadError("connection reset by peer", request=REQ),
        httpx.ReadTimeout("timed out", request=REQ),
        httpx.ConnectError("refused", request=REQ),
        httpx.Response(200, content=b'{"data": [{"id": 1}, {"id"'),  # truncated body
        httpx.Response(200, content=b"<html>maintenance</html>"),
        httpx.Response(200, json={"status": "success"}),  # no data key
        httpx.Response(200, json={"data": {"id": 1}}),  # an object where a page is expected
    ],
    ids=["html-502", "503", "dropped", "reset", "timeout", "connect", "truncated", "html-200",
         "no-data", "object-data"],
)  # fmt: skip
def test_transient_faults_are_recovered(fault: object) -> None:
    api = Api(total=3, script=[fault])
    client, sleeps = make(api)
    pages = list(client.iter_pages(get_entity("customers"), site_id=1))
    assert [r["id"] for r in pages[0].records] == [0, 1, 2]
    assert len(api.requests) == 2 and len(sleeps) == 1


def test_persistent_502_ends_in_server_error_after_the_attempt_cap() -> None:
    api = Api(script=[httpx.Response(502, content=HTML_502)] * 10)
    client, sleeps = make(api)
    with pytest.raises(ServerError, match="502") as info:
        client.get(get_entity("customers"), 1, 5)
    assert "<" not in str(info.value) and len(api.requests) == 6 and len(sleeps) == 5


def test_persistent_dropped_connection_ends_in_transport_error() -> None:
    api = Api(script=[httpx.RemoteProtocolError("peer closed", request=REQ)] * 10)
    client, _ = make(api)
    with pytest.raises(TransportError, match="GET /customers/5\\?site_id=1"):
        client.get(get_entity("customers"), 1, 5)
    assert len(api.requests) == 6


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (401, {"message": "Unauthenticated."}, AuthError),
        (403, {"message": "Forbidden"}, PermissionDeniedError),
        (404, {"message": "Not found."}, NotFoundError),
        (400, {"errors": {"site_id": ["The site id field is required."]}}, ValidationError),
        (422, {"errors": {"limit": ["Too big."]}}, ValidationError),
    ],
    ids=["401", "403", "404", "400", "422"],
)
def test_client_errors_fail_fast_without_retry(status: int, body: dict, cls: type) -> None:
    api = Api(script=[httpx.Response(status, json=body)] * 3)
    client, sleeps = make(api)
    with pytest.raises(cls) as info:
        list(client.iter_pages(get_entity("customers"), site_id=1))
    assert len(api.requests) == 1 and sleeps == []
    assert "GET /customers?site_id=1" in str(info.value)


def test_401_with_a_token_points_at_oauth() -> None:
    client, _ = make(Api(script=[httpx.Response(401, json={"message": "Unauthenticated."})]),
                     token=True)  # fmt: skip
    with pytest.raises(AuthError, match="oauth exchange CODE"):
        client.account()


def test_secret_never_leaks_into_reprs_errors_logs_or_hooks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    echo = httpx.Response(401, json={"message": f"bad token Bearer {KEY}"})
    api = Api(script=[httpx.ReadError(f"reset {KEY}", request=REQ), echo])
    client, _ = make(api)
    client._http.event_hooks["request"].append(lambda r: seen.append(repr(r.headers)))
    with pytest.raises(AuthError) as info:
        client.account()
    texts = [repr(client), repr(client.settings), str(client.settings), str(info.value),
             repr(info.value), info.value.detail, caplog.text, *seen]  # fmt: skip
    assert all(KEY not in t for t in texts)
    assert info.value.__cause__ is None  # the httpx request (with headers) is not chained


def test_stats_count_bytes_and_statuses() -> None:
    api = Api(total=3, script=[httpx.Response(503)])
    client, _ = make(api)
    list(client.iter_pages(get_entity("customers"), site_id=1))
    stats = client.stats.snapshot()
    assert stats["statuses"] == {503: 1, 200: 1} and stats["bytes"] > 0


def test_shared_budget_is_used_when_none_is_given() -> None:
    api = Api(total=3)
    cfg = Settings(api_key=Secret(KEY), base_url=BASE)
    with PelcroClient(cfg, transport=httpx.MockTransport(api)) as a:
        a.account()
        list(a.iter_pages(get_entity("customers"), site_id=1))
        with PelcroClient(cfg, transport=httpx.MockTransport(api)) as b:
            assert b._get_budget() is a._get_budget()
            assert a._get_budget().per_minute == 360


def test_token_about_to_expire_is_warned(caplog: pytest.LogCaptureFixture) -> None:
    import time

    make(Api(), token=True, access_token_expires_at=time.time() + 600)
    assert "expires in" in caplog.text and "oauth exchange" in caplog.text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"data": [{"id": 123456789012345678901234}]}', 123456789012345678901234),
        (b'{"data": [{"id": -123456789012345678901234}]}', -123456789012345678901234),
        # twenty digits inside a string: not a number, parsed the same by either parser
        (b'{"data": [{"id": "12345678901234567890123"}]}', "12345678901234567890123"),
        (b'{"data": [{"id": 18446744073709551615}]}', 18446744073709551615),
    ],
)
def test_integers_beyond_64_bits_keep_every_digit(body: bytes, expected: object) -> None:
    from pelcro_sync.api.client import _parse_ok

    assert _parse_ok(body, None)["data"][0]["id"] == expected


def test_clients_share_one_tls_context_that_still_verifies_certificates() -> None:
    """Sharing the CA bundle across clients must not weaken verification."""
    import ssl

    from pelcro_sync.api import client as client_module

    settings = Settings(api_key=Secret("k"), base_url="https://api.example/api/v1/core")
    with PelcroClient(settings) as a, PelcroClient(settings) as b:
        contexts = {
            id(c._http._transport._pool._ssl_context)  # type: ignore[attr-defined]
            for c in (a, b)
        }
    shared = client_module._tls_context()
    assert contexts == {id(shared)}
    assert shared.verify_mode == ssl.CERT_REQUIRED and shared.check_hostname


def test_a_request_cut_off_by_closing_the_client_is_not_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A scan that stops early closes its client under fetches still in flight."""
    calls = []

    def api(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        client.close()
        raise httpx.ReadError("[Errno 9] Bad file descriptor", request=request)

    client, sleeps = make(api)
    with pytest.raises(TransportError, match="the client was closed"):
        client.request_json("GET", "customers", params={"site_id": 1})
    assert len(calls) == 1 and sleeps == []
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


@pytest.mark.parametrize(
    "value",
    [2**64, 2**64 - 1, -(2**63) - 1, -(2**63), -(10**25), 10**25],
    ids=["2^64", "2^64-1", "-2^63-1", "-2^63", "-10^25", "10^25"],
)
def test_integers_of_any_size_are_read_exactly(value: int) -> None:
    """orjson turns an integer beyond 64 bits into a float (2**64 -> 1.8446744073709552e19,
    digits lost); such a body takes the exact parser."""
    body = f'{{"data": [{{"id": 1, "n": {value}, "m": [{value}]}}]}}'.encode()
    record = client_module._parse_ok(body, None)["data"][0]
    assert record["n"] == value and type(record["n"]) is int
    assert record["m"] == [value]
