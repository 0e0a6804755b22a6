"""Record factories for the catalogue: plans, products, e-commerce products, SKUs and orders
(written from entities.md, plus undocumented extras)."""

from random import Random
from typing import Any

from pelcro_sandbox.values import CURRENCIES, GenContext, awkward_text, every, maybe

Record = dict[str, Any]
PRODUCT_NAMES = [
    "Digital Access",
    "Print + Digital",
    "Weekend Edition",
    "Le Devoir numérique",
    "Team Plan",
    "Newsletter Pro",
    "Archives 📚",
]


def plan(ctx: GenContext, i: int, rng: Random) -> Record:
    product = ctx.parent("products", i)
    created = ctx.created("plans", i, rng)
    updated = created + rng.randrange(0, 86400)
    membership = every(i, 5)
    archived = every(i, 8)
    return {
        "id": ctx.id("plans", i),
        "object_id": f"plan_{rng.getrandbits(64):016x}",
        "product_id": ctx.id("products", product),
        "parent_plan_id": None,
        "nickname": awkward_text(i) if every(i, 14, 6) else f"{rng.choice(PRODUCT_NAMES)} {i}",
        "name_internal": maybe(rng, f"plan-{i}", 0.7),
        "description": maybe(rng, "Unlimited access.\nCancel anytime.", 0.5),
        "type": "membership" if membership else "regular",
        # DOCUMENTED both ways (README §0): a bool in the attribute table, "active" /
        # "archived" in newer docs. INFERRED: an account mixes them; one plan in three is bool.
        "active": (not archived) if every(i, 3) else ("archived" if archived else "active"),
        "status": "archived" if archived else "active",
        "amount": rng.choice([0, 99, 999, 1500, 3000, 12000, 99900]),
        "currency": rng.choice(CURRENCIES),
        "interval": rng.choice(["day", "week", "month", "month", "year"]),
        "interval_count": rng.choice([1, 1, 3, 6]),
        "trial_period_days": rng.choice([0, 0, 7, 14]),
        "auto_renew": rng.random() < 0.8,
        "renewal_strategy": rng.choice([None, "regular", "digital", "single_shipment"]),
        "recognized_revenue_type": rng.choice(["shipments", "time", None]),
        "available_online": True,
        "is_hidden": every(i, 10),
        "is_donation": False,
        "is_imported": False,
        "refundable": True,
        "allow_send_invoice": every(i, 3),
        "auto_uncollectible_days": None,
        "invoice_upcoming_notification": None,
        "shipments_per_interval": None,
        "member_seat_capacity": rng.randrange(2, 300) if membership else 0,
        "agency_id": None,
        "agency_remit_rate": rng.choice([0, 0.15, 0.333]),
        "group_owner_plan_id": None,
        "apple_product_id": None,
        "gift_description": None,
        "image": maybe(rng, f"https://cdn.example.com/plans/{i}.png", 0.6),
        "old_provider_id": None,
        "countries": ["US", "CA"] if every(i, 4) else None,
        "domains": ["acme.com"] if membership else None,
        "ip_addresses": ["203.0.113.0/24"] if membership and every(i, 2) else None,
        "entitlements": ["premium", "archive"] if every(i, 3) else None,
        "metadata": {"tier": "gold"} if every(i, 6) else None,
        "site_ids": ctx.layout.sites_of(i),
        "created_at": created,
        "updated_at": updated,
    }


def product(ctx: GenContext, i: int, rng: Random) -> Record:
    created = ctx.created("products", i, rng)
    plans = list(ctx.layout.children("plans", "products", i))
    return {
        "id": ctx.id("products", i),
        "object_id": f"prod_{rng.getrandbits(56):014x}",
        "name": f"{rng.choice(PRODUCT_NAMES)} #{i}",
        "name_internal": None,
        "description": awkward_text(i) if every(i, 9, 4) else maybe(rng, "Our best product."),
        "type": "service",
        "active": rng.random() < 0.9,
        "address_required": rng.choice([0, 1]),
        "shippable": every(i, 3),
        "is_hidden": False,
        "is_imported": False,
        "language": rng.choice(["en_US", "fr_CA"]),
        "statement_descriptor": "ACME NEWS",
        "unit_label": None,
        "package_dimensions": {"height": 1.5, "length": 30, "weight": 0.2, "width": 20}
        if every(i, 3)
        else None,
        "countries": None,
        "entitlements": ["premium"] if every(i, 2) else [],
        "image": None,
        "old_provider_id": None,
        "import_unique_id": None,
        "revenue_recognition_strategy": rng.choice([1, 2]),
        "plans": [ctx.id("plans", p) for p in plans],
        "livemode": False,
        "metadata": None if i % 2 else {"family": "news"},
        "site_ids": ctx.layout.sites_of(i),
        "created_at": created,
        "updated_at": created + 100,
    }


def ecommerce_product(ctx: GenContext, i: int, rng: Random) -> Record:
    return {
        "id": ctx.id("ecommerce_products", i),
        "name": rng.choice(["Tote bag", "Mug", "T-shirt", "Poster", "Calendrier 2025"]) + f" {i}",
        "caption": maybe(rng, "Limited edition"),
        "description": awkward_text(i) if every(i, 8, 1) else maybe(rng, "100% cotton."),
        "shippable": True,
        "countries": ["US", "CA"],
        "image": maybe(rng, f"https://cdn.example.com/shop/{i}.jpg"),
        "sites": ctx.layout.sites_of(i),
    }


def sku(ctx: GenContext, i: int, rng: Random) -> Record:
    created = ctx.created("skus", i, rng)
    finite = rng.random() < 0.5
    return {
        "id": ctx.id("skus", i),
        "product_id": ctx.parent_id("ecommerce_products", i),
        "name": rng.choice(["S", "M", "L", "XL", "One size"]) + f" / {i}",
        "active": rng.random() < 0.9,
        "currency": rng.choice(CURRENCIES),
        "price": rng.choice([1500, 2500, 4999]),
        "weight": rng.choice([0.3, 1.25, 0.05]),
        "countries": ["US"],
        "image": None,
        "inventory_type": int(finite),
        "inventory_quantity": rng.randrange(0, 500) if finite else 0,
        "inventory_description": None,
        "entitlements": [],
        "metadata": {},
        "expires_at": None,
        "created_at": created,
        "updated_at": created,
    }


def order(ctx: GenContext, i: int, rng: Random) -> Record:
    owner = ctx.parent("customers", i)
    address = ctx.first_child("addresses", "customers", owner)
    created = ctx.created("orders", i, rng)
    items = []
    for salt in range(1 + i % 3):
        s = ctx.base("skus", ctx.parent("skus", i, salt=salt))
        qty = rng.randrange(1, 4)
        items.append(
            {
                "sku_id": s["id"],
                "quantity": qty,
                "amount": s["price"] * qty,
                "description": s["name"],
            }
        )
    return {
        "id": ctx.id("orders", i),
        "user_id": ctx.id("customers", owner),
        "address_id": None if address is None else ctx.id("addresses", address),
        "amount": sum(item["amount"] for item in items),
        "currency": "usd",
        "status": rng.choice(["paid", "paid", "fulfilled", "canceled", "returned", "created"]),
        "items": items,
        "metadata": {} if i % 5 else {"gift": True, "message": awkward_text(i)},
        "created_at": created,
        "updated_at": created + 86400,
    }
