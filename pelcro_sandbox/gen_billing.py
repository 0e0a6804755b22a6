"""Record factories for billing entities: subscriptions, memberships, invoices, charges,
refunds, coupons and bills (written from entities.md, plus undocumented extras)."""

from random import Random
from typing import Any

from pelcro_sandbox.values import CURRENCIES, GenContext, awkward_text, every, maybe

Record = dict[str, Any]
SUB_STATUSES = [
    "active",
    "active",
    "active",
    "trialing",
    "past_due",
    "canceled",
    "unpaid",
    "incomplete",
    "incomplete_expired",
    "expired",
]
INVOICE_STATUSES = ["paid", "paid", "paid", "open", "draft", "void", "uncollectible"]
MONTH = 30 * 86400


def _sub_metadata(i: int) -> Any:
    # Webhooks and create-subscription show metadata as an array; REST objects as a map.
    if every(i, 3):
        return ["metadata-example1", "metadata-example2"]
    if every(i, 3, 1):
        return [{"key": "campaign", "value": "spring"}, {"key": 'he said "hi"', "value": None}]
    return {"tier": "gold", "note.with.dots": awkward_text(i)} if every(i, 5) else {}


def subscription(ctx: GenContext, i: int, rng: Random) -> Record:
    owner = ctx.parent("customers", i)
    created = ctx.created("subscriptions", i, rng)
    status = SUB_STATUSES[rng.randrange(len(SUB_STATUSES))]
    if every(i, 17, 4):  # DOCUMENTED on the list page (README §0); a sprinkle, so no draw moves
        status = "extended"
    canceled = status in ("canceled", "expired")
    address = ctx.first_child("addresses", "customers", owner)
    source = ctx.first_child("sources", "customers", owner)
    invoices = list(ctx.layout.children("invoices", "subscriptions", i))
    start = created + (rng.randrange(0, 12) * MONTH)
    membership = every(i, 6)
    return {
        "id": ctx.id("subscriptions", i),
        "object_id": f"sub_{rng.getrandbits(64):016x}",
        "user_id": ctx.id("customers", owner),
        "plan": ctx.parent_id("plans", i, salt=1),
        "address": None if address is None else ctx.id("addresses", address),
        "coupon": ctx.parent_id("coupons", i, salt=2) if every(i, 7) else None,
        "default_source": None if source is None else ctx.id("sources", source),
        "latest_invoice": ctx.id("invoices", invoices[-1]) if invoices else None,
        "latest_churn_prediction": {"score": round(rng.random(), 3)} if every(i, 4) else None,
        "status": status,
        "type": "membership" if membership else rng.choice(["regular", "regular", "gift_donor"]),
        "is_membership": membership,
        "billing": rng.choice(["charge_automatically", "send_invoice"]),
        "address_required": rng.choice([0, 1]),
        "quantity": rng.choice([1, 1, 1, 2, 5, 100]),
        "auto_renew": 0 if canceled else 1,
        "cancel_at_period_end": int(status == "active" and every(i, 9)),
        "cancel_at": None,
        "canceled_at": start + 86400 if canceled else None,
        "cancel_reason": awkward_text(i) if canceled and every(i, 2) else None,
        "created": created,
        "current_period_start": start,
        "current_period_end": start + MONTH,
        "days_until_due": maybe(rng, 30, 0.7),
        "due_date": None,
        "ended_at": start + MONTH if canceled else None,
        "expires_at": start + MONTH if canceled else None,
        "renews_at": None if canceled else start + MONTH,
        "trial_start": created if status == "trialing" else None,
        "trial_end": created + 14 * 86400 if status == "trialing" else None,
        "is_gift_donor": None,
        "is_gift_recipient": None,
        "gift_code": None,
        "is_redeemed": None,
        "shipments_remaining": maybe(rng, rng.randrange(0, 52), 0.6),
        "schedule": None,
        "metadata": _sub_metadata(i),
        "x_campaign_key": maybe(rng, "InstantPromo", 0.8),
    }


def membership(ctx: GenContext, i: int, rng: Random) -> Record:
    created = ctx.created("memberships", i, rng)
    pending = every(i, 5, 2)
    return {
        "id": ctx.id("memberships", i),
        "subscription_id": ctx.parent_id("subscriptions", i),
        "user_id": None if pending else ctx.parent_id("customers", i, salt=5),
        "address_id": None,
        "invitation_email": f"member+{i}@example.com" if pending else None,
        "status": "pending" if pending else "active",
        "old_provider_id": None,
        "subscription": None,
        "created_at": created,
        "updated_at": created,
    }


def invoice(ctx: GenContext, i: int, rng: Random) -> Record:
    sub = ctx.parent("subscriptions", i)
    created = ctx.created("invoices", i, rng)
    status = INVOICE_STATUSES[rng.randrange(len(INVOICE_STATUSES))]
    subtotal = rng.choice([999, 1500, 3500, 12000, 0])
    tax = subtotal * rng.choice([0, 5, 13]) // 100
    total = subtotal + tax
    paid = status == "paid"
    number = f"ACME-{i:06d}"
    return {
        "id": ctx.id("invoices", i),
        "number": awkward_text(i) if every(i, 43, 8) else number,
        "status": status,
        "subscription_id": ctx.id("subscriptions", sub),
        "customer": ctx.parent_id("customers", sub),
        "subtotal": subtotal,
        "tax": tax,
        "total": total,
        "amount_due": 0 if paid else total,
        "amount_paid": total if paid else 0,
        "amount_remaining": 0 if paid else total,
        "ending_balance": maybe(rng, 0, 0.3),
        "currency": rng.choice(CURRENCIES),
        "billing": rng.choice(["charge_automatically", "send_invoice"]),
        "billing_reason": rng.choice(["subscription_create", "subscription_cycle", "manual"]),
        "auto_advance": status in ("draft", "open"),
        "paid": paid,
        "description": maybe(rng, "1 × Digital (at $35.00 / month)", 0.5),
        "due_date": maybe(rng, created + 14 * 86400, 0.5),
        "period_start": created,
        "period_end": created + MONTH,
        "hosted_invoice_url": maybe(rng, f"https://invoice.example.com/i/{i}?a=1&b=2", 0.5),
        "invoice_pdf": None,
        "is_imported": every(i, 10),
        "metadata": {"pelcro_site_id": str(ctx.layout.sites_of(sub)[0])} if every(i, 3) else {},
        "created": created,
        "created_at": created,
        "finalized_at": None if status == "draft" else created + 60,
        "updated_at": created + rng.randrange(60, 86400),
        "deleted_at": None,
    }


def charge(ctx: GenContext, i: int, rng: Random) -> Record:
    inv_index = ctx.parent("invoices", i)
    inv = ctx.base("invoices", inv_index)
    created = ctx.created("charges", i, rng)
    status = rng.choice(["succeeded", "succeeded", "succeeded", "failed", "pending"])
    offline = every(i, 4)
    return {
        "id": ctx.id("charges", i),
        "invoice_id": inv["id"],
        "customer_id": inv["customer"],
        "amount": inv["total"] or 500,
        "amount_refunded": 0,
        "currency": inv["currency"],
        "status": status,
        "paid": status == "succeeded",
        "refunded": False,
        "description": rng.choice(["Subscription creation", "Subscription update", None]),
        "statement_descriptor": maybe(rng, "ACME NEWS", 0.5),
        "offline": offline,
        "reference": f"CHK-{i}" if offline else None,
        "offline_entered_by": 42 if offline else None,
        "payment_category": rng.choice([2, 3, 4, 5, 6]) if offline else None,
        "metadata": {} if i % 6 else {"batch": f"b-{i // 6}", "key with spaces": "v"},
        "created_at": created,
        "updated_at": created + 5,
        "deleted_at": None,
        "livemode": True,
    }


def refund(ctx: GenContext, i: int, rng: Random) -> Record:
    chg = ctx.base("charges", ctx.parent("charges", i))
    created = ctx.created("refunds", i, rng)
    return {
        "id": ctx.id("refunds", i),
        "charge_id": chg["id"],
        "user_id": chg["customer_id"],
        "amount": max(1, chg["amount"] // rng.choice([1, 2, 4])),
        "status": rng.choice(["succeeded", "pending", "to_issue", "canceled", "failed"]),
        "reason": rng.choice(["Non sufficient funds", "Credit card chargeback", "Transfer", None]),
        "destination": rng.choice(["card", "customer balance", "offline"]),
        "created_at": created,
        "updated_at": created + 60,
    }


def coupon(ctx: GenContext, i: int, rng: Random) -> Record:
    created = ctx.created("coupons", i, rng)
    percent = rng.random() < 0.6
    return {
        "id": ctx.id("coupons", i),
        "name": awkward_text(i) if every(i, 12, 5) else f"Spring sale {i}",
        "code": f"SPRING{i}",
        "percent_off": rng.choice([10, 12.5, 50, 100]) if percent else None,
        "amount_off": None if percent else rng.choice([500, 1000]),
        "currency": None if percent else "usd",
        "duration": rng.choice(["forever", "once", "repeating"]),
        "redeem_by": maybe(rng, created + 90 * 86400, 0.5),
        "max_redemptions": maybe(rng, 100, 0.5),
        "plans": [ctx.parent_id("plans", i, salt=s) for s in (3, 4)] if every(i, 2) else [],
        "metadata": {},
        "created_at": created,
        "updated_at": created,
    }


def bill(ctx: GenContext, i: int, rng: Random) -> Record:
    created = ctx.created("bills", i, rng)
    status = rng.choice(["draft", "open", "paid"])
    qty, unit = rng.randrange(1, 4), rng.choice([5000, 12500])
    total = qty * unit
    paid = status == "paid"
    bill_id = ctx.id("bills", i)
    line = {
        "object": "bill_line_item",
        "id": i * 10 + 1,
        "bill_id": bill_id,
        "amount": total,
        "currency": "usd",
        "description": "Consulting",
        "quantity": qty,
        "type": "service",
        "metadata": {},
        "amounts": {"unit_price": unit, "quantity": qty, "subtotal": total},
        "dates": {"created_at": created, "updated_at": created},
    }
    return {
        "id": bill_id,
        "account_id": 100284,
        "user_id": ctx.parent_id("vendors", i),
        "number": f"BILL-{i:05d}",
        "status": status,
        "status_label": status.capitalize(),
        "status_value": status,
        "currency": "usd",
        "subtotal": total,
        "total": total,
        "amount_due": 0 if paid else total,
        "amount_paid": total if paid else 0,
        "amount_remaining": 0 if paid else total,
        "paid": paid,
        "description": maybe(rng, awkward_text(i), 0.7),
        "footer": None,
        "purchase_order": maybe(rng, f"PO-{i}", 0.5),
        "hosted_bill_url": None,
        "bill_pdf": None,
        "metadata": {},
        "line_items": [line],
        "period_start": created,
        "period_end": created + MONTH,
        "created": created,
        "finalized_at": None if status == "draft" else created + 3600,
        "paid_at": created + 7200 if paid else None,
        "voided_at": None,
        "updated_at": created + rng.randrange(0, 10 * 86400),
    }
