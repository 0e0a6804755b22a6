"""Helpers of the erasure tests: the whole schema before and after, what changed, and
which records are the customer's, worked out from the sandbox's truth (not from the code
under test)."""

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, text

Key = tuple[Any, ...]
Snapshot = dict[str, dict[Key, Any]]
# Fields an erasure must never change, wherever they sit in a record.
KEPT = {
    "id", "site_id", "user_id", "customer_id", "subscription_id", "invoice_id", "charge_id",
    "object_id", "amount", "amount_due", "amount_paid", "amount_remaining", "total",
    "subtotal", "tax", "currency", "status", "plan", "quantity", "created", "created_at",
    "updated_at", "current_period_start", "current_period_end", "_valid_from", "_valid_to",
    "_synced_at", "_deleted_at", "event_id", "type", "applied_at", "received_at",
}  # fmt: skip


def snapshot(engine: Engine, schema: str) -> Snapshot:
    """Every row of every table of `schema` (as JSON), by key; `_erasures` left out."""
    with engine.connect() as conn:
        names = conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = :s"
                " AND tablename NOT IN ('alembic_version', '_erasures')"
            ),
            {"s": schema},
        ).scalars()
        found: Snapshot = {}
        for name in list(names):
            rows = conn.execute(text(f'SELECT to_jsonb(t) FROM "{schema}"."{name}" t')).scalars()
            found[name] = {_key(name, row): row for row in rows}
        return found


def _key(table: str, row: dict[str, Any]) -> Key:
    if table == "_webhook_events":
        return (row["event_id"],)
    if table.endswith("_history"):
        return (row["site_id"], row["id"], row["_valid_from"])
    if not table.startswith("_"):
        return (row["site_id"], row["id"])
    return (repr(sorted(row.items())),)  # bookkeeping: any change shows as a new key


def changed(before: Snapshot, after: Snapshot) -> dict[str, set[Key]]:
    """Per table, the keys whose row differs (added, removed or changed)."""
    out: dict[str, set[Key]] = {}
    for table in before.keys() | after.keys():
        old, new = before.get(table, {}), after.get(table, {})
        keys = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
        if keys:
            out[table] = keys
    return out


def leaf_changes(old: Any, new: Any, at: Key = ()) -> Iterator[tuple[Key, Any, Any]]:
    """(path, before, after) for each value that differs between two JSON documents."""
    if isinstance(old, dict) and isinstance(new, dict) and old.keys() == new.keys():
        for k in old:
            yield from leaf_changes(old[k], new[k], (*at, k))
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            yield from leaf_changes(a, b, (*at, i))
    elif old != new:
        yield at, old, new


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def theirs(truth: dict[str, list[dict[str, Any]]], customer_id: int) -> dict[str, set[int]]:
    """The ids, per entity, of the customer's records, by the sandbox's own links."""

    def where(entity: str, field: str, ids: set[int]) -> set[int]:
        return {r["id"] for r in truth[entity] if r.get(field) in ids}

    me = {customer_id}
    subs = where("subscriptions", "user_id", me)
    invoices = where("invoices", "subscription_id", subs)
    charges = where("charges", "invoice_id", invoices)
    emails = {r["email"] for r in truth["customers"] if r["id"] == customer_id}
    return {
        "customers": me,
        "addresses": where("addresses", "user_id", me),
        "sources": where("sources", "user_id", me),
        "orders": where("orders", "user_id", me),
        "memberships": where("memberships", "user_id", me),
        "subscriptions": subs,
        "invoices": invoices,
        "charges": charges,
        "refunds": where("refunds", "charge_id", charges),
        "newsletters": where("newsletters", "email", emails),
    }
