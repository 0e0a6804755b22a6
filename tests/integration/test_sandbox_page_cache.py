"""The opt-in page cache: the same bytes as without it, fresh after every mutation, and
auth, site checks, throttling and faults still decided per request."""

from concurrent.futures import ThreadPoolExecutor

import httpx

from pelcro_sandbox import Faults, Running

PAGES = [
    ("/customers", {"limit": 100, "sort": "id", "page": 1}),
    ("/customers", {"limit": 100, "sort": "id", "page": 2}),
    ("/customers", {"limit": 7, "sort": "-id", "page": 3}),
    ("/customers", {"limit": 100, "page": 99}),  # past the end
    ("/invoices", {"limit": 50, "sort": "-created_at"}),
    ("/memberships", {"filter[user_id]": "eq:1"}),
    ("/plans", {}),
]


def client(running: Running, key: str | None = None, **kw: object) -> httpx.Client:
    headers = {"Accept": "application/json", "Authorization": f"Bearer {key or running.api_key}"}
    return httpx.Client(base_url=running.base_url, headers=headers, **kw)  # type: ignore[arg-type]


def page(
    c: httpx.Client, running: Running, path: str = "/customers", **params: object
) -> httpx.Response:
    return c.get(path, params={"site_id": running.site_ids[0], "limit": 100, **params})


def test_cached_bodies_are_byte_identical_to_uncached_ones(make_sandbox) -> None:
    plain, cached = make_sandbox(customers=300), make_sandbox(customers=300, page_cache=True)
    one_id = plain.sandbox.truth("customers", plain.site_ids[0])[5]["id"]
    requests = [*PAGES, (f"/customers/{one_id}", {})]
    with client(plain) as p, client(cached) as c:
        for path, params in requests:
            want = page(p, plain, path, **params)
            cold, warm = page(c, cached, path, **params), page(c, cached, path, **params)
            assert want.status_code == cold.status_code == warm.status_code == 200
            # Links carry the server's origin, the only thing that differs between the two.
            expected = want.content.replace(plain.oauth_url.encode(), cached.oauth_url.encode())
            assert cold.content == warm.content == expected, path
            assert warm.headers["content-length"] == str(len(expected))
    pages = cached.sandbox.pages
    assert pages is not None and pages.hits == len(requests) and pages.misses == len(requests)
    assert plain.sandbox.pages is None


def test_mutations_invalidate_cached_pages_and_records(make_sandbox) -> None:
    running = make_sandbox(page_cache=True)
    sb, site = running.sandbox, running.site_ids[0]
    with client(running) as c:
        first = page(c, running).json()["data"]
        changed, victim = first[1]["id"], first[2]["id"]
        assert page(c, running, f"/customers/{changed}").json()["data"]["first_name"] != "Zoë ✨"
        assert page(c, running).json()["data"] == first  # a hit, still the same
        sb.mutate(
            updates={"customers": {changed: {"first_name": "Zoë ✨"}}},
            deletes={"customers": [victim]},
        )
        after = page(c, running).json()["data"]
        assert after == sb.truth("customers", site)[:100] and after != first
        assert next(r for r in after if r["id"] == changed)["first_name"] == "Zoë ✨"
        assert victim not in {r["id"] for r in after}
        one = page(c, running, f"/customers/{changed}").json()["data"]
        assert one["first_name"] == "Zoë ✨"
        # Over the admin endpoint, with a cascade to the subscriptions page.
        subs = page(c, running, "/subscriptions").json()["data"]
        owner = next(s["user_id"] for s in subs if s["user_id"])
        assert page(c, running, "/subscriptions").json()["data"] == subs
        r = httpx.post(f"{running.admin_url}/mutate", json={"deletes": {"customers": [owner]}})
        assert r.status_code == 200 and r.json()["deleted"]["subscriptions"]
        subs_after = page(c, running, "/subscriptions").json()["data"]
        assert owner not in {s["user_id"] for s in subs_after}
        assert subs_after == sb.truth("subscriptions", site)[:100]
        assert page(c, running, f"/customers/{owner}").status_code == 404


def test_concurrent_readers_see_every_update_once_it_returns(make_sandbox) -> None:
    running = make_sandbox(page_cache=True)
    sb = running.sandbox
    target = sb.truth("customers", running.site_ids[0])[0]["id"]
    with client(running) as c, ThreadPoolExecutor(8) as pool:
        for n in range(15):
            list(pool.map(lambda _: page(c, running).status_code, range(16)))  # warm, racing
            sb.mutate(updates={"customers": {target: {"last_name": f"v{n}"}}})
            seen = list(pool.map(lambda _: page(c, running).json()["data"][0], range(8)))
            assert {r["last_name"] for r in seen} == {f"v{n}"}


def test_rate_limit_still_counts_and_throttles_cache_hits(make_sandbox) -> None:
    running = make_sandbox(page_cache=True, rate_limit=5)
    with client(running) as c:
        responses = [page(c, running) for _ in range(8)]
    assert [r.status_code for r in responses] == [200] * 5 + [429] * 3
    assert [r.headers["X-RateLimit-Remaining"] for r in responses] == list("43210000")
    assert responses[5].json() == {"message": "Too Many Attempts."}
    assert "Retry-After" in responses[5].headers and "Retry-After" not in responses[4].headers
    assert running.sandbox.pages is not None and running.sandbox.pages.hits == 4
    assert running.sandbox.stats.throttled == 3


def test_faults_still_hit_cached_pages(make_sandbox) -> None:
    running = make_sandbox(page_cache=True)
    with client(running) as c:
        assert page(c, running).status_code == 200
        running.sandbox.set_faults(html_502=1.0)
        r = page(c, running)
        assert r.status_code == 502 and b"502 Bad Gateway" in r.content
        running.sandbox.set_faults(html_502=0.0, truncated=1.0)
        cut = page(c, running)
        running.sandbox.set_faults(truncated=0.0)
        whole = page(c, running)
    assert cut.status_code == whole.status_code == 200
    assert 0 < len(cut.content) < len(whole.content) and whole.content.startswith(cut.content)
    assert running.sandbox.pages is not None and running.sandbox.pages.hits == 2


def test_the_seeded_fault_sequence_is_the_same_with_or_without_the_cache(make_sandbox) -> None:
    faults = dict(html_502=0.2, http_503=0.15, drop=0.1, truncated=0.15)

    def outcomes(running: Running) -> list[tuple[str, int]]:
        seen = []
        with client(running, timeout=5) as c:
            for n in range(80):
                try:
                    r = page(c, running, limit=20, page=1 + n % 3)
                except httpx.TransportError:
                    seen.append(("drop", 0))
                    continue
                seen.append((str(r.status_code), len(r.content)))
        return seen

    plain = outcomes(make_sandbox(faults=Faults(**faults)))
    cached_running = make_sandbox(faults=Faults(**faults), page_cache=True)
    cached = outcomes(cached_running)
    assert cached == plain  # same statuses, same (truncated) lengths, same drops
    assert {kind for kind, _ in plain} == {"200", "502", "503", "drop"}
    assert cached_running.sandbox.pages is not None and cached_running.sandbox.pages.hits > 0


def test_a_revoked_key_gets_401_for_a_cached_page(make_sandbox) -> None:
    running = make_sandbox(page_cache=True)
    key = running.sandbox.create_key()
    with client(running, key) as c:
        assert page(c, running).status_code == 200
        assert page(c, running).status_code == 200
        running.sandbox.revoke_key(key)
        r = page(c, running)
    assert r.status_code == 401 and r.json() == {"message": "Unauthenticated."}
    with client(running) as c:  # the page stays cached for keys that still work
        assert page(c, running).status_code == 200
    assert running.sandbox.pages is not None and running.sandbox.pages.hits == 2


def test_other_accounts_and_restricted_keys_never_get_a_cached_body(make_sandbox) -> None:
    running = make_sandbox(page_cache=True)
    sb = running.sandbox
    with client(running) as c:  # warm the main account's pages
        assert page(c, running).status_code == 200
        assert page(c, running, "/invoices").status_code == 200
    with client(running, sb.other_api_key) as c:
        same_url = page(c, running)
        own = c.get("/customers", params={"site_id": sb.other_site_id, "limit": 100})
    assert same_url.status_code == 403
    assert own.status_code == 200 and own.json()["data"] == sb.truth("customers", sb.other_site_id)
    with client(running, sb.create_key(restricted=True)) as c:
        assert page(c, running, "/invoices").status_code == 403
        assert page(c, running).json()["data"] == sb.truth("customers", running.site_ids[0])[:100]
    assert sb.pages is not None and sb.pages.hits == 0  # every answer above was its own
