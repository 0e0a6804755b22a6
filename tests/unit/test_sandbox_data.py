"""The sandbox's generated data: deterministic, consistent, awkward and scalable."""

import time
from typing import Any

import orjson
import pytest

from pelcro_sandbox import Sandbox, SandboxConfig
from pelcro_sandbox.dataset import Dataset
from pelcro_sandbox.layout import Layout
from pelcro_sandbox.listing import _window
from pelcro_sync.entities import ENTITIES


@pytest.fixture(scope="module")
def sb() -> Sandbox:
    return Sandbox(SandboxConfig(seed=7, customers=500, huge_value_bytes=2_000_000))


def ids(sb: Sandbox, entity: str, site: int) -> set[int]:
    return {r["id"] for r in sb.truth(entity, site)}


def test_same_seed_gives_identical_records_and_another_seed_differs() -> None:
    a, b, c = (Sandbox(SandboxConfig(seed=s, customers=50)) for s in (7, 7, 8))
    site = a.site_ids[0]
    for entity in ("customers", "subscriptions", "invoices", "orders"):
        assert orjson.dumps(a.truth(entity, site)) == orjson.dumps(b.truth(entity, site))
    assert a.truth("customers", site) != c.truth("customers", site)


# (child entity, foreign key, parent entity); the parent must be listed on the same site.
RELATIONS = [
    ("subscriptions", "user_id", "customers"),
    ("subscriptions", "plan", "plans"),
    ("subscriptions", "address", "addresses"),
    ("subscriptions", "default_source", "sources"),
    ("subscriptions", "latest_invoice", "invoices"),
    ("subscriptions", "coupon", "coupons"),
    ("memberships", "subscription_id", "subscriptions"),
    ("memberships", "user_id", "customers"),
    ("invoices", "subscription_id", "subscriptions"),
    ("invoices", "customer", "customers"),
    ("charges", "invoice_id", "invoices"),
    ("refunds", "charge_id", "charges"),
    ("refunds", "user_id", "customers"),
    ("orders", "user_id", "customers"),
    ("orders", "address_id", "addresses"),
    ("skus", "product_id", "ecommerce_products"),
    ("plans", "product_id", "products"),
    ("addresses", "user_id", "customers"),
    ("sources", "user_id", "customers"),
    ("customers", "organization", "organizations"),
    ("customers", "default_source_id", "sources"),
    ("bills", "user_id", "vendors"),
]


@pytest.mark.parametrize(
    ("child", "fk", "parent"), RELATIONS, ids=[f"{c}.{f}->{p}" for c, f, p in RELATIONS]
)
def test_every_reference_points_at_a_record_on_the_same_site(
    sb: Sandbox, child: str, fk: str, parent: str
) -> None:
    for site in sb.site_ids:
        parents = ids(sb, parent, site)
        refs = [r[fk] for r in sb.truth(child, site) if r[fk] is not None]
        assert refs and set(refs) <= parents


def test_nested_references_exist_too(sb: Sandbox) -> None:
    site = sb.site_ids[0]
    skus, plans = ids(sb, "skus", site), ids(sb, "plans", site)
    assert {i["sku_id"] for o in sb.truth("orders", site) for i in o["items"]} <= skus
    assert {p for c in sb.truth("coupons", site) for p in c["plans"]} <= plans
    subs = {s["id"]: s for s in sb.truth("subscriptions", site)}
    for inv in sb.truth("invoices", site):
        assert inv["customer"] == subs[inv["subscription_id"]]["user_id"]


def test_some_records_are_shared_between_sites_and_carry_site_ids(sb: Sandbox) -> None:
    a, b = sb.site_ids
    shared = ids(sb, "plans", a) & ids(sb, "plans", b)
    assert shared and ids(sb, "customers", a) & ids(sb, "customers", b)
    plan = next(p for p in sb.truth("plans", a) if p["id"] in shared)
    assert plan["site_ids"] == [a, b]


def test_catalogue_entities_span_more_than_one_page_of_100_per_site(sb: Sandbox) -> None:
    small = [
        "plans",
        "products",
        "coupons",
        "newsletters",
        "organizations",
        "bills",
        "vendors",
        "skus",
        "ecommerce_products",
    ]
    for entity in small:
        assert all(sb.dataset.count(entity, s) > 100 for s in sb.site_ids), entity


def test_awkward_values_are_present(sb: Sandbox) -> None:
    site = sb.site_ids[0]
    blob = orjson.dumps([sb.truth(e.name, site) for e in ENTITIES]).decode()
    for needle in [
        "'); DROP TABLE customers;--",
        "🎉",
        "\\t",
        "\\n",
        '\\"',
        "\\\\",
        '"key with spaces"',
        "key.with.dots",
        "Nguyễn",
    ]:
        assert needle in blob, needle
    # REST records carry unix timestamps only (README §0); ISO strings are for webhooks.
    assert ".000000Z" not in blob
    subs = sb.truth("subscriptions", site)
    assert {type(s["metadata"]) for s in subs} == {dict, list}
    assert {s["auto_renew"] for s in subs} == {0, 1}
    assert {s["cancel_at_period_end"] for s in subs} == {0, 1}
    assert any(
        len(str(v)) > 2000
        for c in sb.truth("customers", site)
        for v in (c["metadata"] or {}).values()
    )
    assert all(c["currency"] == c["currency"].lower() for c in sb.truth("charges", site))


def test_ids_above_2_pow_31_occur_and_huge_value_knob_works(sb: Sandbox) -> None:
    site = sb.site_ids[1]
    assert min(r["id"] for r in sb.truth("charges", site)) > 2**31
    invoices = [r["id"] for r in sb.truth("invoices", site)]
    assert min(invoices) < 2**31 < max(invoices)
    customer = sb.dataset.record("customers", 1)
    assert len(customer["metadata"]["blob"]) == 2_000_000


def test_fields_beyond_the_docs_are_served(sb: Sandbox) -> None:
    customer = sb.truth("customers", sb.site_ids[0])[0]
    assert {"object_id", "livemode", "x_language"} <= set(customer)


def test_million_customers_serve_page_5000_without_materialising() -> None:
    started = time.perf_counter()
    data = Dataset(seed=7, customers=1_000_000, site_ids=[1, 2])
    rows = [data.record("customers", i) for i in data.indexes("customers", 1, 4999 * 100, 100)]
    assert time.perf_counter() - started < 0.5
    assert len(rows) == 100 and data.count("customers", 1) == 600_000
    assert rows == sorted(rows, key=lambda r: r["id"]) and data.ctx.base.cache_info().currsize < 200


def test_layout_maps_are_inverse() -> None:
    layout = Layout(500, [1, 2])
    for site in (1, 2):
        for pos in range(50):
            assert layout.position_of(layout.index_at(pos, site), site) == pos
    for child in range(layout.sizes["subscriptions"]):
        parent = layout.parent("customers", child)
        assert parent % 10 == child % 10
        assert child in set(layout.children("subscriptions", "customers", parent))


def test_paging_skips_deleted_records_like_a_brute_force_scan() -> None:
    data = Dataset(seed=1, customers=100, site_ids=[1, 2])
    for customer_id in (5001, 5003, 5010, 5012, 5099):
        data.delete("customers", customer_id)
    alive = [i for i in range(100) if 1 in data.layout.sites_of(i) and data.exists("customers", i)]
    assert data.indexes("customers", 1, 0, 1000) == alive
    assert data.indexes("customers", 1, 3, 4, descending=True) == alive[::-1][3:7]
    assert data.count("customers", 1) == len(alive)


def test_deleting_a_customer_cascades_and_newsletters_are_gone() -> None:
    sb = Sandbox(SandboxConfig(customers=50))
    site = sb.site_ids[0]
    owner = sb.truth("subscriptions", site)[0]["user_id"]
    out = sb.mutate(deletes={"customers": [owner]})
    for entity in ("subscriptions", "addresses", "sources"):
        assert out["deleted"][entity], entity
        assert not set(out["deleted"][entity]) & ids(sb, entity, site)
    assert all(r["user_id"] != owner for r in sb.truth("memberships", site))
    with pytest.raises(KeyError):
        sb.mutate(updates={"customers": {owner: {"email": "x@example.com"}}})


def test_created_records_get_fresh_ids_and_now_timestamps() -> None:
    sb = Sandbox(SandboxConfig(customers=50))
    out = sb.mutate(creates={"subscriptions": 2, "customers": [{"email": "n@example.com"}]})
    new: dict[str, Any] = {e: v for e, v in out["created"].items()}
    for site in sb.site_ids:
        assert set(new["subscriptions"]) <= ids(sb, "subscriptions", site)
        assert sb.truth("customers", site)[-1]["email"] == "n@example.com"
    created = sb.truth("customers", sb.site_ids[0])[-1]["created_at"]
    assert abs(created - time.time()) < 5


@pytest.mark.parametrize(
    ("page", "last", "expected"),
    [
        (1, 5, [1, 2, 3, 4, 5]),
        (1, 20, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, None, 19, 20]),
        (10, 20, [1, 2, None, 7, 8, 9, 10, 11, 12, 13, None, 19, 20]),
        (20, 20, [1, 2, None, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]),
    ],
    ids=["few-pages", "near-start", "middle", "near-end"],
)
def test_meta_links_follow_laravels_url_window(page: int, last: int, expected: list) -> None:
    assert _window(page, last) == expected
