"""The sandbox over real HTTP: envelope, paging, sort/filter, auth, site_id, rate limit,
faults, mutations and OAuth, as a Pelcro client would see them."""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from pelcro_sandbox import Faults, Running
from pelcro_sync.entities import ENTITIES, get_entity


def client(running: Running, key: str | None = None, **kw: object) -> httpx.Client:
    headers = {"Accept": "application/json", "Authorization": f"Bearer {key or running.api_key}"}
    return httpx.Client(base_url=running.base_url, headers=headers, **kw)  # type: ignore[arg-type]


def fetch_all(c: httpx.Client, path: str, site: int, **params: object) -> tuple[list, int]:
    rows, page = [], 1
    while True:
        body = c.get(path, params={"site_id": site, "limit": 100, "page": page, **params}).json()
        rows += body["data"]
        if page >= body["meta"]["last_page"]:
            return rows, body["meta"]["total"]
        page += 1


# --- account, envelope, paging ------------------------------------------------------------
def test_account_needs_no_site_id_and_lists_the_sites(sandbox: Running) -> None:
    with client(sandbox) as c:
        r = c.get("/account")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    data = r.json()["data"]
    assert [s["id"] for s in data["sites"]] == sandbox.site_ids and len(data["sites"]) >= 2
    assert set(data) >= {
        "id",
        "company",
        "country",
        "default_currency",
        "is_enterprise",
        "taxes_enabled",
        "api_core_rate_limit",
        "payment_gateway",
    }


def test_first_page_has_the_exact_laravel_envelope(sandbox: Running) -> None:
    site = sandbox.site_ids[0]
    with client(sandbox) as c:
        body = c.get("/addresses", params={"site_id": site}).json()
    path = f"{sandbox.base_url}/addresses"
    meta, total = body["meta"], sandbox.sandbox.dataset.count("addresses", site)
    last = -(-total // 10)
    assert set(body) == {"data", "links", "meta"} and len(body["data"]) == 10
    assert body["links"] == {
        "first": f"{path}?page=1",
        "last": f"{path}?page={last}",
        "prev": None,
        "next": f"{path}?page=2",
    }
    assert {
        k: meta[k] for k in ("current_page", "from", "to", "per_page", "total", "path", "last_page")
    } == {
        "current_page": 1,
        "from": 1,
        "to": 10,
        "per_page": 10,
        "total": total,
        "path": path,
        "last_page": last,
    }
    labels = [link["label"] for link in meta["links"]]
    assert labels[0] == "« Previous" and labels[-1] == "Next »" and labels[1] == "1"
    assert meta["links"][1]["active"] and meta["links"][0]["url"] is None


def test_page_past_the_end_is_empty_with_null_from_and_to(sandbox: Running) -> None:
    with client(sandbox) as c:
        body = c.get("/plans", params={"site_id": sandbox.site_ids[0], "page": 999}).json()
    assert body["data"] == [] and body["meta"]["from"] is None and body["meta"]["to"] is None
    assert body["meta"]["current_page"] == 999 and body["links"]["next"] is None


@pytest.mark.parametrize("entity", [e.name for e in ENTITIES])
def test_paging_every_entity_returns_exactly_the_truth(sandbox: Running, entity: str) -> None:
    site = sandbox.site_ids[1]
    with client(sandbox) as c:
        rows, total = fetch_all(c, get_entity(entity).path, site)
    truth = sandbox.sandbox.truth(entity, site)
    assert rows == truth and total == len(truth) > 0
    assert len({r["id"] for r in rows}) == len(rows)


def test_shared_customers_appear_under_both_sites(sandbox: Running) -> None:
    a, b = ({r["id"] for r in sandbox.sandbox.truth("customers", s)} for s in sandbox.site_ids)
    assert a & b and a - b and b - a


def test_limit_over_100_is_a_validation_error(sandbox: Running) -> None:
    with client(sandbox) as c:
        r = c.get("/customers", params={"site_id": sandbox.site_ids[0], "limit": 101})
    assert r.status_code == 400
    assert r.json() == {"errors": {"limit": ["The limit may not be greater than 100."]}}


# --- sort, filter, get --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("entity", "sort"),
    [
        ("customers", "-id"),
        ("invoices", "-created_at"),
        ("skus", "-id"),
        ("vendors", "-created_at"),
    ],
)
def test_newest_first_sort_reverses_id_order(sandbox: Running, entity: str, sort: str) -> None:
    site = sandbox.site_ids[0]
    with client(sandbox) as c:
        rows, _ = fetch_all(c, get_entity(entity).path, site, sort=sort)
    assert [r["id"] for r in rows] == [r["id"] for r in sandbox.sandbox.truth(entity, site)][::-1]


def test_bills_sort_by_updated_at_descending(sandbox: Running) -> None:
    with client(sandbox) as c:
        rows, _ = fetch_all(c, "/bills", sandbox.site_ids[0], sort="-updated_at")
    stamps = [r["updated_at"] for r in rows]
    truth = sandbox.sandbox.truth("bills", sandbox.site_ids[0])
    assert stamps == sorted(stamps, reverse=True) and len(rows) == len(truth) > 10


@pytest.mark.parametrize(
    ("entity", "sort"), [("addresses", "id"), ("customers", "created_at"), ("subscriptions", "id")]
)
def test_sort_on_an_attribute_the_resource_does_not_allow_is_400(
    sandbox: Running, entity: str, sort: str
) -> None:
    with client(sandbox) as c:
        r = c.get(get_entity(entity).path, params={"site_id": sandbox.site_ids[0], "sort": sort})
    assert r.status_code == 400 and "not allowed" in r.json()["message"]


def test_documented_filters_select_matching_rows(sandbox: Running) -> None:
    site = sandbox.site_ids[0]
    with client(sandbox) as c:
        paid, _ = fetch_all(c, "/invoices", site, **{"filter[status]": "eq:open,paid"})
        sub = sandbox.sandbox.truth("memberships", site)[0]["subscription_id"]
        members, _ = fetch_all(c, "/memberships", site, **{"filter[subscription_id]": sub})
        bad = c.get("/addresses", params={"site_id": site, "filter[city]": "Montreal"})
    truth = sandbox.sandbox.truth("invoices", site)
    assert paid == [r for r in truth if r["status"] in ("open", "paid")]
    assert members and all(m["subscription_id"] == sub for m in members)
    assert bad.status_code == 400 and "filter" in bad.json()["errors"]


def test_get_by_id_returns_the_object_and_404s_outside_the_site(sandbox: Running) -> None:
    a, b = sandbox.site_ids
    only_a = next(
        r for r in sandbox.sandbox.truth("customers", a) if not _on_site(sandbox, r["id"], b)
    )
    with client(sandbox) as c:
        ok = c.get(f"/customers/{only_a['id']}", params={"site_id": a})
        other_site = c.get(f"/customers/{only_a['id']}", params={"site_id": b})
        unknown = c.get("/customers/999999999", params={"site_id": a})
    assert ok.json() == {"data": only_a, "status": "success"}
    assert other_site.status_code == unknown.status_code == 404
    assert unknown.json() == {"message": "Not found."}


# --- auth and site_id ---------------------------------------------------------------------
def test_missing_or_unknown_key_is_401(sandbox: Running) -> None:
    url = f"{sandbox.base_url}/customers?site_id={sandbox.site_ids[0]}"
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}):
        r = httpx.get(url, headers=headers)
        assert r.status_code == 401 and r.json() == {"message": "Unauthenticated."}


def test_key_lifecycle_revoked_reactivated_deleted(make_sandbox) -> None:
    running = make_sandbox()
    sb, key = running.sandbox, running.sandbox.create_key()
    with client(running, key) as c:
        get = lambda: c.get("/customers", params={"site_id": running.site_ids[0]}).status_code  # noqa: E731
        assert get() == 200
        sb.revoke_key(key)
        assert get() == 401
        sb.reactivate_key(key)
        assert get() == 200
        sb.delete_key(key)
        assert get() == 401
        with pytest.raises(ValueError):
            sb.reactivate_key(key)
        assert get() == 401


def test_restricted_key_gets_403_on_money_but_reads_customers(make_sandbox) -> None:
    running = make_sandbox()
    with client(running, running.sandbox.create_key(restricted=True)) as c:
        money = c.get("/invoices", params={"site_id": running.site_ids[0]})
        people = c.get("/customers", params={"site_id": running.site_ids[0]})
    assert money.status_code == 403
    assert money.json() == {"message": "This action is unauthorized. Contact the account owner."}
    assert people.status_code == 200


@pytest.mark.parametrize(
    ("site", "status", "shape"),
    [
        (None, 400, "errors"),
        ("abc", 400, "errors"),
        ("other", 403, "error"),
        ("1", 404, "error"),
    ],
    ids=["missing", "not-integer", "other-account", "nonexistent"],
)
def test_site_id_validation(sandbox: Running, site: str | None, status: int, shape: str) -> None:
    params = {} if site is None else {"site_id": site}
    if site == "other":
        params["site_id"] = str(sandbox.sandbox.other_site_id)
    with client(sandbox) as c:
        r = c.get("/customers", params=params)
    assert r.status_code == status and shape in r.json()
    if site is None:
        assert r.json() == {"errors": {"site_id": ["The site id field is required."]}}


# --- rate limit, latency, faults ----------------------------------------------------------
def test_rate_limit_429s_with_headers_and_never_serves_more_than_n(make_sandbox) -> None:
    running = make_sandbox(rate_limit=5)
    with client(running) as c:
        assert c.get("/account").json()["data"]["api_core_rate_limit"] == 5
        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(lambda _: c.get("/account"), range(12)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 4 + [429] * 8
    throttled = next(r for r in responses if r.status_code == 429)
    assert throttled.json() == {"message": "Too Many Attempts."}
    assert 0 <= int(throttled.headers["Retry-After"]) <= 60
    assert throttled.headers["X-RateLimit-Remaining"] == "0"
    assert int(throttled.headers["X-RateLimit-Reset"]) >= int(time.time())
    assert next(r for r in responses if r.status_code == 200).headers["X-RateLimit-Limit"] == "5"
    stats = running.sandbox.stats
    assert stats.max_in_window(60) == 5 and stats.throttled == 8 and stats.requests == 13


def test_latency_does_not_serialise_concurrent_requests(make_sandbox) -> None:
    running = make_sandbox(latency=1.0)
    started = time.monotonic()
    with client(running, timeout=10) as c, ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda _: c.get("/account").status_code, range(16)))
    assert codes == [200] * 16 and time.monotonic() - started < 3.0


def test_faults_occur_at_roughly_the_configured_rates(make_sandbox) -> None:
    running = make_sandbox(faults=Faults(html_502=0.2, http_503=0.1, drop=0.1, truncated=0.1))
    seen = {"502": 0, "503": 0, "drop": 0, "bad_json": 0, "ok": 0}
    with client(running, timeout=5) as c:
        for _ in range(300):
            try:
                r = c.get("/plans", params={"site_id": running.site_ids[0]})
            except httpx.TransportError:
                seen["drop"] += 1
                continue
            if r.status_code == 502:
                assert r.headers["content-type"] == "text/html" and b"<html>" in r.content
                seen["502"] += 1
            elif r.status_code == 503:
                seen["503"] += 1
            else:
                try:
                    json.loads(r.content)
                    seen["ok"] += 1
                except ValueError:
                    seen["bad_json"] += 1
    assert 35 <= seen["502"] <= 85 and 12 <= seen["503"] <= 50
    assert 12 <= seen["drop"] <= 50 and 12 <= seen["bad_json"] <= 50
    assert running.sandbox.stats.faults["drop"] == seen["drop"]


def test_slow_fault_outlasts_a_client_timeout(make_sandbox) -> None:
    running = make_sandbox(faults=Faults(slow=1.0, slow_seconds=1.0))
    with client(running, timeout=0.3) as c, pytest.raises(httpx.ReadTimeout):
        c.get("/account")


# --- mutations ----------------------------------------------------------------------------
def test_update_create_and_cascading_delete_show_in_lists(make_sandbox) -> None:
    running = make_sandbox()
    sb, site = running.sandbox, running.site_ids[0]
    before = {e: sb.truth(e, site) for e in ("customers", "subscriptions", "addresses")}
    victim = next(
        c
        for c in before["customers"]
        if any(s["user_id"] == c["id"] for s in before["subscriptions"])
    )
    changed = next(c for c in before["customers"] if c["id"] != victim["id"])
    out = sb.mutate(
        updates={"customers": {changed["id"]: {"first_name": "Zoë ✨"}}},
        creates={"customers": [{"email": "new@example.com"}]},
        deletes={"customers": [victim["id"]]},
    )
    new_id = out["created"]["customers"][0]
    with client(running) as c:
        customers, _ = fetch_all(c, "/customers", site)
        subs, _ = fetch_all(c, "/subscriptions", site)
        gone = c.get(f"/customers/{victim['id']}", params={"site_id": site})
        new_elsewhere = c.get(f"/customers/{new_id}", params={"site_id": running.site_ids[1]})
    by_id = {r["id"]: r for r in customers}
    assert by_id[changed["id"]]["first_name"] == "Zoë ✨"
    assert by_id[changed["id"]]["updated_at"] >= int(time.time()) - 5
    assert customers[-1]["id"] == new_id and customers[-1]["email"] == "new@example.com"
    assert new_elsewhere.status_code == 200
    assert victim["id"] not in by_id and gone.status_code == 404
    assert not any(s["user_id"] == victim["id"] for s in subs)
    assert out["deleted"]["subscriptions"] and out["deleted"]["addresses"]
    assert customers == sb.truth("customers", site) and subs == sb.truth("subscriptions", site)


def test_admin_endpoints_drive_a_running_sandbox(make_sandbox) -> None:
    running = make_sandbox()
    key = httpx.post(f"{running.admin_url}/keys", json={}).json()["key"]
    news = running.sandbox.truth("newsletters", running.site_ids[0])[0]["id"]
    httpx.post(f"{running.admin_url}/mutate", json={"deletes": {"newsletters": [news]}})
    httpx.post(f"{running.admin_url}/keys/{key}/revoke")
    with client(running, key) as c:
        assert c.get("/account").status_code == 401
    with client(running) as c:
        r = c.get(f"/newsletters/{news}", params={"site_id": running.site_ids[0]})
    assert r.status_code == 404
    assert httpx.get(f"{running.admin_url}/stats").json()["requests"] == 2


# --- OAuth --------------------------------------------------------------------------------
def test_oauth_code_flow_issues_a_bearer_token_until_it_expires(make_sandbox) -> None:
    running = make_sandbox()
    app = running.oauth_client
    r = httpx.get(
        f"{running.oauth_url}/oauth/authorize",
        params={
            "client_id": app.client_id,
            "redirect_uri": app.redirect_uri,
            "response_type": "code",
            "response_mode": "query",
        },
    )
    assert r.status_code == 302 and r.headers["location"].startswith(app.redirect_uri)
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    body = {
        "grant_type": "authorization_code",
        "client_id": app.client_id,
        "client_secret": "wrong",
        "redirect_uri": app.redirect_uri,
        "code": code,
    }
    assert httpx.post(f"{running.oauth_url}/oauth/token", json=body).status_code == 401
    token = httpx.post(
        f"{running.oauth_url}/oauth/token", json={**body, "client_secret": app.client_secret}
    ).json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 172800
    reused = httpx.post(
        f"{running.oauth_url}/oauth/token", json={**body, "client_secret": app.client_secret}
    )
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    with client(running, token["access_token"]) as c:
        assert c.get("/customers", params={"site_id": running.site_ids[0]}).status_code == 200
        running.sandbox.expire_tokens()
        assert c.get("/customers", params={"site_id": running.site_ids[0]}).status_code == 401


def _on_site(running: Running, customer_id: int, site: int) -> bool:
    layout = running.sandbox.dataset.layout
    index = layout.index_of("customers", customer_id)
    return index is not None and site in layout.sites_of(index)
