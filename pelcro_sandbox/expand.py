"""Relationship expansion on list pages: customers, organizations and refunds.

DOCUMENTED (README §0): List customers expands addresses, subscriptions, default_source_id
and organization; List organizations expands customers; List refunds expands the charge
(`include=charge` on the refunds page, `expand=` elsewhere: both are taken).
INFERRED, and deliberately unhelpful, since the docs do not say whether expanded arrays
are complete: an expanded array holds at most `EXPAND_CAP` records, so a client that
relied on expansion for completeness would lose rows here. pelcro-sync never asks for it.
Unknown relation names are ignored (INFERRED).
"""

from collections.abc import Callable
from typing import Any

from pelcro_sandbox.dataset import Dataset

EXPAND_CAP = 5
Record = dict[str, Any]


def requested(entity: str, params: dict[str, str]) -> list[str]:
    """The relations asked for that this entity's list can expand."""
    raw = ",".join(params.get(name, "") for name in ("expand", "include"))
    wanted = [r.strip() for r in raw.split(",") if r.strip()]
    return [r for r in dict.fromkeys(wanted) if r in EXPANDERS.get(entity, {})]


def apply(
    dataset: Dataset, entity: str, site: int, rows: list[Record], relations: list[str]
) -> list[Record]:
    """Copies of `rows` with `relations` expanded in place of their ids."""
    out = []
    for row in rows:
        row = dict(row)
        for relation in relations:
            EXPANDERS[entity][relation](dataset, site, row)
        out.append(row)
    return out


def _children(child: str, parent: str, fk: str) -> Callable[[Dataset, int, Record], None]:
    def expand(dataset: Dataset, site: int, row: Record) -> None:
        index = dataset.layout.index_of(parent, row["id"])
        found = []
        if index is not None:
            for i in dataset.layout.children(child, parent, index):
                rec = dataset.get(child, site, dataset.layout.id_of(child, i))
                if rec is not None and rec.get(fk) == row["id"]:
                    found.append(rec)
                if len(found) == EXPAND_CAP:
                    break
        row[child] = found

    return expand


def _parent(target: str, fk: str, key: str) -> Callable[[Dataset, int, Record], None]:
    def expand(dataset: Dataset, site: int, row: Record) -> None:
        ref = row.get(fk)
        row[key] = dataset.get(target, site, ref) if isinstance(ref, int) else None

    return expand


EXPANDERS: dict[str, dict[str, Callable[[Dataset, int, Record], None]]] = {
    "customers": {
        "addresses": _children("addresses", "customers", "user_id"),
        "subscriptions": _children("subscriptions", "customers", "user_id"),
        "organization": _parent("organizations", "organization", "organization"),
        "default_source_id": _parent("sources", "default_source_id", "default_source"),
    },
    "organizations": {"customers": _children("customers", "organizations", "organization")},
    "refunds": {"charge": _parent("charges", "charge_id", "charge")},
}
