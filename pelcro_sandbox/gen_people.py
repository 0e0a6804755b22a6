"""Record factories for people-like entities: customers, addresses, sources, newsletters,
organizations and vendors (written from entities.md, plus undocumented extras)."""

import unicodedata
from random import Random
from typing import Any

from pelcro_sandbox.values import (
    DOMAINS,
    FIRST,
    LAST,
    METADATA_KEYS,
    PLACES,
    STREETS,
    GenContext,
    awkward_text,
    every,
    long_text,
    maybe,
)

Record = dict[str, Any]


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum()) or "user"


def person(rng: Random, index: int) -> tuple[str, str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    email = f"{_ascii(first)}.{_ascii(last)}.{index}@{rng.choice(DOMAINS)}"
    return first, last, email


def metadata(ctx: GenContext, rng: Random, index: int) -> Any:
    """Mostly small objects; sometimes null, empty, awkward keys, nested or several KB."""
    if every(index, 13, 4):
        return None
    if every(index, 11, 2):
        return {}
    meta: Record = {"crm_id": f"A-{1000 + index}", "source": rng.choice(["web", "import", "app"])}
    if every(index, 7, 3):
        meta[METADATA_KEYS[index % len(METADATA_KEYS)]] = awkward_text(index)
        meta["nested"] = {"tags": ["a", "b"], "score": rng.random(), "ok": True}
    if every(index, 89, 7):
        meta["notes"] = long_text(rng, 3 + index % 5)
    if index == 1 and ctx.huge_value_bytes:
        meta["blob"] = "x" * ctx.huge_value_bytes
    return meta


def _default_source(ctx: GenContext, i: int) -> int | None:
    src = ctx.first_child("sources", "customers", i)
    return None if src is None or every(i, 4, 1) else ctx.id("sources", src)


def customer(ctx: GenContext, i: int, rng: Random) -> Record:
    first, last, email = person(rng, i)
    created = ctx.created("customers", i, rng)
    if every(i, 17, 5):
        last = awkward_text(i)
    login = created + rng.randrange(1, 90 * 86400)
    return {
        "id": ctx.id("customers", i),
        "object_id": f"cus_{rng.getrandbits(56):014x}",
        "email": None if every(i, 31, 6) else email,
        "email_confirm": rng.random() < 0.7,
        "email_hardbounce": every(i, 23),
        "first_name": maybe(rng, first, 0.05),
        "last_name": maybe(rng, last, 0.05),
        "name": f"{first} {last}",
        "display_name": awkward_text(i) if every(i, 19, 3) else maybe(rng, first.lower(), 0.6),
        "username": maybe(rng, f"{_ascii(first)}-{i}", 0.5),
        "salutation": maybe(rng, rng.choice(["Ms", "Mr", "Mx", "Dr"]), 0.7),
        "title": maybe(rng, "Editor-in-chief", 0.9),
        "phone": maybe(rng, f"514555{i % 10000:04d}", 0.4),
        "phone_confirm": False,
        "tin": maybe(rng, f"TIN-{i:06d}", 0.95),
        "mail_marketing": rng.random() < 0.5,
        "tele_marketing": rng.random() < 0.2,
        "metadata": metadata(ctx, rng, i),
        "old_provider_id": maybe(rng, f"legacy-{i}", 0.8),
        "organization": None if i % 3 else ctx.parent_id("organizations", i),
        "default_source_id": _default_source(ctx, i),
        "has_password": rng.random() < 0.8,
        "password_last_updated_at": created + 60,
        "is_imported": every(i, 5),
        "last_login_at": maybe(rng, login, 0.3),
        "created_at": created,
        "updated_at": created + rng.randrange(0, 30 * 86400),
        "deleted_at": None,
        "livemode": True,
        "x_language": rng.choice(["en", "fr", "es", None]),
    }


def address(ctx: GenContext, i: int, rng: Random) -> Record:
    owner = ctx.parent("customers", i)
    city, state, country, postal = rng.choice(PLACES)
    first, last, _ = person(rng, owner)
    created = ctx.created("addresses", i, rng)
    return {
        "id": ctx.id("addresses", i),
        "type": rng.choice(["shipping", "billing"]),
        "user_id": ctx.id("customers", owner),
        "is_default": ctx.first_child("addresses", "customers", owner) == i,
        "first_name": maybe(rng, first, 0.1),
        "last_name": maybe(rng, last, 0.1),
        "line1": f"{rng.randrange(1, 9999)} {rng.choice(STREETS)}",
        "line2": awkward_text(i) if every(i, 29, 1) else maybe(rng, f"Apt {i % 40}", 0.6),
        "city": maybe(rng, city, 0.05),
        "state": state,
        "country": country,
        "postal_code": maybe(rng, postal, 0.05),
        "company": maybe(rng, "Acme Publishing", 0.8),
        "department": None,
        "salutation": None,
        "title": None,
        "phone": maybe(rng, "+1 (514) 555-0000", 0.7),
        "old_provider_id": None,
        "created_at": created,
        "updated_at": maybe(rng, created + 3600, 0.1),
        "x_geo": {"lat": round(rng.uniform(-60, 60), 5), "lng": round(rng.uniform(-120, 120), 5)},
    }


def source(ctx: GenContext, i: int, rng: Random) -> Record:
    owner = ctx.parent("customers", i)
    cust = ctx.base("customers", owner)
    brand = rng.choice(["Visa", "MasterCard", "American Express", "Discover"])
    return {
        "id": ctx.id("sources", i),
        "object_id": f"pm_{rng.getrandbits(64):016x}",
        "object_gateway": rng.choice(["stripe", "stripe", "braintree", "vantiv"]),
        "brand": brand,
        "last4": f"{rng.randrange(10000):04d}",
        "exp_month": rng.randrange(1, 13),
        "exp_year": rng.randrange(2024, 2032),
        "funding": rng.choice(["credit", "debit"]),
        "country": rng.choice(["US", "CA"]),
        "fingerprint": f"{rng.getrandbits(64):016x}",
        "name": cust["name"],
        "address_line1_check": maybe(rng, "pass", 0.5),
        "address_zip_check": maybe(rng, "pass", 0.5),
        "cvc_check": rng.choice(["pass", "fail", None]),
        "dynamic_last4": None,
        "tokenization_method": maybe(rng, "apple_pay", 0.9),
        "three_d_secure": "optional",
        "site_ids": ctx.layout.sites_of(i),
        "customer": {"id": cust["id"], "name": cust["name"], "email": cust["email"]},
        "user_id": cust["id"],
    }


def newsletter(ctx: GenContext, i: int, rng: Random) -> Record:
    first, last, email = person(rng, i + 1_000_000)
    created = ctx.created("newsletters", i, rng)
    return {
        "id": ctx.id("newsletters", i),
        "email": email,
        "first_name": maybe(rng, first),
        "last_name": maybe(rng, last),
        "source": rng.choice(["web", "phone", "mail", "other"]),
        "lists": rng.choice(["daily,weekly", "weekly", None, "breaking news; sports"]),
        "postal_code": rng.choice(["H2X 1Y4", "10001", ""]),
        "consent_url": 'https://acme-news.com/newsletter?utm_source=a&b="c"',
        "consent_ip": f"203.0.113.{i % 255}",
        "consent_text": awkward_text(i) if every(i, 9, 2) else "I agree to receive emails.",
        "consent_type": rng.choice(["explicit", "implicit", ""]),
        "created_at": created,
        "updated_at": created,
    }


def organization(ctx: GenContext, i: int, rng: Random) -> Record:
    created = ctx.created("organizations", i, rng)
    name = rng.choice(["Acme", "Globex", "Initech", "Umbrella", "Société Générale", "株式会社"])
    return {
        "id": ctx.id("organizations", i),
        "name": f"{name} {awkward_text(i) if every(i, 21, 4) else i}",
        "customers_count": rng.randrange(0, 40),
        "customers": [],
        "created_at": created,
        "updated_at": created + rng.randrange(0, 86400),
    }


def vendor(ctx: GenContext, i: int, rng: Random) -> Record:
    first, last, email = person(rng, i + 2_000_000)
    created = ctx.created("vendors", i, rng)
    return {
        "id": ctx.id("vendors", i),
        "object_id": None,
        "email": email,
        "billing_email": maybe(rng, f"ap+{i}@example.com"),
        "first_name": first,
        "last_name": last,
        "display_name": f"{first} {last} Consulting",
        "username": None,
        "salutation": None,
        "title": None,
        "phone": maybe(rng, "5145550000"),
        "phone_confirm": False,
        "email_confirm": True,
        "email_hardbounce": False,
        "delinquent": every(i, 15),
        "has_password": False,
        "mail_marketing": False,
        "tele_marketing": False,
        "balance": rng.randrange(-5000, 5000),
        "currency": rng.choice(["usd", "cad"]),
        "language": rng.choice(["en", "fr"]),
        "last_login_method": None,
        "default_source_id": None,
        "metadata": {} if i % 4 else {"vendor_no": f"V-{i}"},
        "organization": None,
        "dates": {"created_at": created, "updated_at": created},
        "password_last_updated_at": None,
        "created": created,
        "created_at": created,
    }
