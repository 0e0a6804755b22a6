"""A small fixed warehouse for the marts tests, and what the marts must make of it.

Months are counted back from the current UTC month (M0); a record is first captured at T0
(M-3, day 10), so months before that are reconstructed from lifecycle dates. Site 101:

| sub | customer | plan (amount, interval/count, currency) x qty | story |
|---|---|---|---|
| 21 | 1 | 11 (1000, month, usd) x2, then 16 (2000, month, usd) x2 from M-1 | created M-6, upgrade |
| 22 | 2 | 12 (120000, year, usd), then 13 (700, week, usd) from M-1 | created M-2, downgrade |
| 23 | 3 | 14 (100, day, eur) x3 | created M-5, canceled M-2: voluntary churn |
| 24 | 3 | 15 (3000, month/3, eur) | created M-1: reactivation |
| 25 | 4 | 11 x1; past_due M-2, unpaid M-1 | created M-4: involuntary churn |
| 26 | 5 | 11, incomplete | never contributes |

Site 202 reuses ids (customer 1, plan 11 at 500 usd, subscription 21 from M-1): nothing of
it may leak into site 101.
"""

from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import Connection, MetaData

from pelcro_sync.entities import get_entity
from pelcro_sync.warehouse.schema import entity_table, history_table

S1, S2 = 101, 202


def month(k: int) -> date:
    """First day of the month k months before the current UTC month."""
    today = datetime.now(UTC).date()
    index = today.year * 12 + today.month - 1 - k
    return date(index // 12, index % 12 + 1, 1)


def at(k: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    m = month(k)
    return datetime(m.year, m.month, day, hour, minute, tzinfo=UTC)


T0 = at(3, 10)
PLANS = {  # (site, id): (amount, interval, interval_count, currency)
    (S1, 11): (1000, "month", 1, "usd"),
    (S1, 12): (120000, "year", 1, "usd"),
    (S1, 13): (700, "week", 1, "usd"),
    (S1, 14): (100, "day", 1, "eur"),
    (S1, 15): (3000, "month", 3, "eur"),
    (S1, 16): (2000, "month", 1, "usd"),
    (S2, 11): (500, "month", 1, "usd"),
}


def _sub(site: int, sid: int, customer: int, created: datetime, *versions: tuple) -> list[dict]:
    """Versions of one subscription: (valid_from, valid_to, plan, quantity, status, extra)."""
    rows = []
    for valid_from, valid_to, plan, quantity, status, extra in versions:
        rows.append(
            {"site_id": site, "id": sid, "_valid_from": valid_from, "_valid_to": valid_to,
             "user_id": customer, "plan": plan, "quantity": quantity, "status": status,
             "created": created, "cancel_at_period_end": False, **extra}
        )  # fmt: skip
    return rows


def subscription_versions() -> list[dict[str, Any]]:
    canceled = {"canceled_at": at(2, 10), "ended_at": at(2, 10)}
    return [
        *_sub(S1, 21, 1, at(6, 5), (T0, at(1, 15), 11, 2, "active", {}),
              (at(1, 15), None, 16, 2, "active", {})),
        *_sub(S1, 22, 2, at(2, 3), (at(2, 4), at(1, 20), 12, 1, "active", {}),
              (at(1, 20), None, 13, 1, "active", {})),
        *_sub(S1, 23, 3, at(5, 1), (T0, at(2, 10), 14, 3, "active", {}),
              (at(2, 10), None, 14, 3, "canceled", canceled)),
        *_sub(S1, 24, 3, at(1, 5), (at(1, 6), None, 15, 1, "active", {})),
        *_sub(S1, 25, 4, at(4, 1), (T0, at(2, 5), 11, 1, "active", {}),
              (at(2, 5), at(1, 5), 11, 1, "past_due", {}),
              (at(1, 5), None, 11, 1, "unpaid", {})),
        *_sub(S1, 26, 5, at(3, 1), (T0, None, 11, 1, "incomplete", {})),
        *_sub(S2, 21, 1, at(1, 2), (at(1, 3), None, 11, 1, "active", {})),
    ]  # fmt: skip


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def _uniform(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every row with every key: an executemany insert takes its columns from the first."""
    keys = {k for row in rows for k in row}
    return [{k: row.get(k) for k in keys} for row in rows]


def insert(conn: Connection, *, schema: str) -> None:
    """Write the dataset: current rows (equal to the open versions) and history."""
    metadata = MetaData(schema=schema)
    table = {n: entity_table(metadata, get_entity(n)) for n in ENTITY_NAMES}
    history = {n: history_table(metadata, get_entity(n)) for n in ("subscriptions", "plans")}
    subs = _uniform(subscription_versions())
    conn.execute(history["subscriptions"].insert(), [_versioned(v) for v in subs])
    current = [v for v in subs if v["_valid_to"] is None]
    conn.execute(table["subscriptions"].insert(), [_current(v) for v in current])
    plans = [_plan(site, pid, spec) for (site, pid), spec in PLANS.items()]
    conn.execute(history["plans"].insert(), [_versioned(p) for p in plans])
    conn.execute(table["plans"].insert(), [_current(p) for p in plans])
    for name, rows in OTHER_ROWS().items():
        rows = _uniform([{"_valid_from": T0, **r} for r in rows])
        conn.execute(table[name].insert(), [_current(r) for r in rows])


ENTITY_NAMES = ("customers", "subscriptions", "plans", "invoices", "charges", "refunds")


def _plan(site: int, pid: int, spec: tuple) -> dict[str, Any]:
    amount, interval, count, currency = spec
    return {"site_id": site, "id": pid, "_valid_from": at(1, 3) if site == S2 else T0,
            "_valid_to": None, "amount": amount, "interval": interval,
            "interval_count": count, "currency": currency.upper()}  # fmt: skip


def _versioned(row: dict[str, Any]) -> dict[str, Any]:
    raw = {k: v for k, v in row.items() if not k.startswith("_") and k != "site_id"}
    return {**row, "_raw": _plain(raw)}


def _current(row: dict[str, Any]) -> dict[str, Any]:
    out = _versioned(row)
    out["_synced_at"] = out.pop("_valid_from")
    out.pop("_valid_to", None)
    return out


def OTHER_ROWS() -> dict[str, list[dict[str, Any]]]:
    customers = [{"site_id": S1, "id": i, "email": f"c{i}@example.com", "first_name": f"C{i}"}
                 for i in range(1, 6)]  # fmt: skip
    customers.append({"site_id": S2, "id": 1, "email": "other@example.com", "first_name": "O"})
    invoices = [
        {"site_id": S1, "id": 31, "customer": 1, "currency": "usd", "status": "paid"},
        {"site_id": S1, "id": 32, "customer": 3, "currency": "eur", "status": "paid"},
        {"site_id": S1, "id": 33, "customer": 4, "currency": "usd", "status": "open",
         "amount_remaining": 1000},
    ]  # fmt: skip
    charges = [  # no currency: the API's list record has none, the invoice's is used
        {"site_id": S1, "id": 41, "invoice_id": 31, "amount": 2000, "status": "succeeded",
         "paid": True, "created_at": at(2, 10, 12)},
        {"site_id": S1, "id": 42, "invoice_id": 32, "amount": 9125, "status": "succeeded",
         "paid": True, "created_at": at(2, 10, 13)},
        {"site_id": S1, "id": 43, "invoice_id": 33, "amount": 1000, "status": "failed",
         "paid": False, "created_at": at(1, 5, 9)},
        {"site_id": S1, "id": 44, "invoice_id": 31, "amount": 500, "status": "succeeded",
         "paid": True, "created_at": at(2, 10, 23, 30)},
        {"site_id": S1, "id": 45, "invoice_id": None, "amount": 700, "status": "succeeded",
         "paid": True, "currency": "CAD", "created_at": at(1, 2)},
    ]  # fmt: skip
    refunds = [
        {"site_id": S1, "id": 51, "charge_id": 41, "amount": 300, "status": "succeeded",
         "created_at": at(1, 3)},
        {"site_id": S1, "id": 52, "charge_id": 42, "amount": 125, "status": "pending",
         "created_at": at(1, 3)},
    ]  # fmt: skip
    return {"customers": customers, "invoices": invoices, "charges": charges, "refunds": refunds}


# -- expectations, by hand -----------------------------------------------------------------

WEEKLY_700 = Fraction(700 * 52, 12)  # 3033.33...
DAILY_100_X3 = Fraction(100 * 3 * 365, 12)  # 9125

# (site, subscription, month offset) -> (customer, plan, currency, status, qty, mrr, reconstructed)
MRR_MONTHLY = {
    **{(S1, 21, k): (1, 11, "usd", "active", 2, Fraction(2000), k >= 4) for k in (6, 5, 4, 3, 2)},
    **{(S1, 21, k): (1, 16, "usd", "active", 2, Fraction(4000), False) for k in (1, 0)},
    (S1, 22, 2): (2, 12, "usd", "active", 1, Fraction(10000), False),
    **{(S1, 22, k): (2, 13, "usd", "active", 1, WEEKLY_700, False) for k in (1, 0)},
    **{(S1, 23, k): (3, 14, "eur", "active", 3, DAILY_100_X3, k >= 4) for k in (5, 4, 3)},
    **{(S1, 24, k): (3, 15, "eur", "active", 1, Fraction(1000), False) for k in (1, 0)},
    (S1, 25, 4): (4, 11, "usd", "active", 1, Fraction(1000), True),
    (S1, 25, 3): (4, 11, "usd", "active", 1, Fraction(1000), False),
    (S1, 25, 2): (4, 11, "usd", "past_due", 1, Fraction(1000), False),
    **{(S2, 21, k): (1, 11, "usd", "active", 1, Fraction(500), False) for k in (1, 0)},
}

# (site, customer, currency, month offset) -> (mrr, previous_mrr, movement)
MOVEMENTS = {
    (S1, 1, "usd", 6): (2000, 0, "new"),
    **{(S1, 1, "usd", k): (2000, 2000, "unchanged") for k in (5, 4, 3, 2)},
    (S1, 1, "usd", 1): (4000, 2000, "expansion"),
    (S1, 1, "usd", 0): (4000, 4000, "unchanged"),
    (S1, 2, "usd", 2): (10000, 0, "new"),
    (S1, 2, "usd", 1): (WEEKLY_700, 10000, "contraction"),
    (S1, 2, "usd", 0): (WEEKLY_700, WEEKLY_700, "unchanged"),
    (S1, 3, "eur", 5): (9125, 0, "new"),
    **{(S1, 3, "eur", k): (9125, 9125, "unchanged") for k in (4, 3)},
    (S1, 3, "eur", 2): (0, 9125, "churned"),
    (S1, 3, "eur", 1): (1000, 0, "reactivation"),
    (S1, 3, "eur", 0): (1000, 1000, "unchanged"),
    (S1, 4, "usd", 4): (1000, 0, "new"),
    **{(S1, 4, "usd", k): (1000, 1000, "unchanged") for k in (3, 2)},
    (S1, 4, "usd", 1): (0, 1000, "churned"),
    (S2, 1, "usd", 1): (500, 0, "new"),
    (S2, 1, "usd", 0): (500, 500, "unchanged"),
}

# (site, currency, month offset) -> starting, new, expansion, contraction, churned,
# reactivation, ending
SUMMARY = {
    (S1, "usd", 6): (0, 2000, 0, 0, 0, 0, 2000),
    (S1, "usd", 5): (2000, 0, 0, 0, 0, 0, 2000),
    (S1, "usd", 4): (2000, 1000, 0, 0, 0, 0, 3000),
    (S1, "usd", 3): (3000, 0, 0, 0, 0, 0, 3000),
    (S1, "usd", 2): (3000, 10000, 0, 0, 0, 0, 13000),
    (S1, "usd", 1): (13000, 0, 2000, WEEKLY_700 - 10000, -1000, 0, 4000 + WEEKLY_700),
    (S1, "usd", 0): (4000 + WEEKLY_700, 0, 0, 0, 0, 0, 4000 + WEEKLY_700),
    (S1, "eur", 5): (0, 9125, 0, 0, 0, 0, 9125),
    (S1, "eur", 4): (9125, 0, 0, 0, 0, 0, 9125),
    (S1, "eur", 3): (9125, 0, 0, 0, 0, 0, 9125),
    (S1, "eur", 2): (9125, 0, 0, 0, -9125, 0, 0),
    (S1, "eur", 1): (0, 0, 0, 0, 0, 1000, 1000),
    (S1, "eur", 0): (1000, 0, 0, 0, 0, 0, 1000),
    (S2, "usd", 1): (0, 500, 0, 0, 0, 0, 500),
    (S2, "usd", 0): (500, 0, 0, 0, 0, 0, 500),
}

# (site, month offset) -> customers_start, churned, voluntary, involuntary, other, rate
CHURN = {
    (S1, 6): (0, 0, 0, 0, 0, None),
    (S1, 5): (1, 0, 0, 0, 0, Fraction(0)),
    (S1, 4): (2, 0, 0, 0, 0, Fraction(0)),
    (S1, 3): (3, 0, 0, 0, 0, Fraction(0)),
    (S1, 2): (3, 1, 1, 0, 0, Fraction(1, 3)),  # customer 3 canceled
    (S1, 1): (3, 1, 0, 1, 0, Fraction(1, 3)),  # customer 4 went past_due, then unpaid
    (S1, 0): (3, 0, 0, 0, 0, Fraction(0)),
    (S2, 1): (0, 0, 0, 0, 0, None),
    (S2, 0): (1, 0, 0, 0, 0, Fraction(0)),
}

# (site, day, currency) -> charged, refunded, net
REVENUE = {
    (S1, at(2, 10).date(), "usd"): (2500, 0, 2500),
    (S1, at(2, 10).date(), "eur"): (9125, 0, 9125),
    (S1, at(1, 2).date(), "cad"): (700, 0, 700),
    (S1, at(1, 3).date(), "usd"): (0, 300, -300),
}

# (site, customer) -> first_subscribed_at, active_subscriptions, subscriptions, currency,
# current_mrr, charged, refunded, net, open_invoices, paid_invoices, last_failed_payment_at
CUSTOMER_360 = {
    (S1, 1): (at(6, 5), 1, 1, "usd", Fraction(4000), 2500, 300, 2200, 0, 1, None),
    (S1, 2): (at(2, 3), 1, 1, "usd", WEEKLY_700, 0, 0, 0, 0, 0, None),
    (S1, 3): (at(5, 1), 1, 2, "eur", Fraction(1000), 9125, 0, 9125, 0, 1, None),
    (S1, 4): (at(4, 1), 0, 1, None, Fraction(0), 0, 0, 0, 1, 0, at(1, 5, 9)),
    (S1, 5): (at(3, 1), 0, 1, None, Fraction(0), 0, 0, 0, 0, 0, None),
    (S2, 1): (at(1, 2), 1, 1, "usd", Fraction(500), 0, 0, 0, 0, 0, None),
}
