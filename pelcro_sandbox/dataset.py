"""One account's data: generated records on demand plus a mutation overlay.

Base record i of an entity is a pure function of (seed, entity, i). Mutations live beside
it: changed fields per record, a set of deleted indexes, and appended (created) indexes.
Created records always get the shared residue, so they are visible on every site.
"""

import threading
import time
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from pelcro_sandbox import gen_billing, gen_catalog, gen_people
from pelcro_sandbox.layout import MODULUS, SHARED_RESIDUE, Layout
from pelcro_sandbox.values import GenContext

Record = dict[str, Any]
FACTORIES: dict[str, Callable[..., Record]] = {
    "customers": gen_people.customer,
    "addresses": gen_people.address,
    "sources": gen_people.source,
    "newsletters": gen_people.newsletter,
    "organizations": gen_people.organization,
    "vendors": gen_people.vendor,
    "subscriptions": gen_billing.subscription,
    "memberships": gen_billing.membership,
    "invoices": gen_billing.invoice,
    "charges": gen_billing.charge,
    "refunds": gen_billing.refund,
    "coupons": gen_billing.coupon,
    "bills": gen_billing.bill,
    "plans": gen_catalog.plan,
    "products": gen_catalog.product,
    "ecommerce_products": gen_catalog.ecommerce_product,
    "skus": gen_catalog.sku,
    "orders": gen_catalog.order,
}
# Deleting a parent soft-deletes these children (README §13): (child, foreign key).
CASCADE: dict[str, list[tuple[str, str, int]]] = {
    "customers": [
        ("subscriptions", "user_id", 0),
        ("memberships", "user_id", 5),
        ("sources", "user_id", 0),
        ("addresses", "user_id", 0),
    ],
    "subscriptions": [("memberships", "subscription_id", 0)],
}
# An update value that removes the field from the record: `mutate(updates={"customers":
# {id: {"email": REMOVED}}})` emulates the API dropping a field (schema drift).
REMOVED: Any = object()
HARD_DELETE = {"newsletters"}  # DOCUMENTED: DELETE /newsletters/{id} is permanent
TIME_FIELDS = ("created_at", "created", "updated_at")


class Dataset:
    """Generated records for one account, with a thread-safe mutation overlay."""

    def __init__(
        self,
        *,
        seed: int,
        customers: int,
        site_ids: list[int],
        id_offset: int = 0,
        huge_value_bytes: int = 0,
    ) -> None:
        self.layout = Layout(customers, site_ids, id_offset=id_offset)
        self.ctx = GenContext(self.layout, seed=seed, huge_value_bytes=huge_value_bytes)
        self.ctx.factories = FACTORIES
        self.lock = threading.RLock()
        self.updates: dict[str, dict[int, Record]] = defaultdict(dict)
        self.deleted: dict[str, set[int]] = defaultdict(set)
        self.hard_deleted: dict[str, set[int]] = defaultdict(set)
        self.created: dict[str, list[int]] = defaultdict(list)
        self._deleted_positions: dict[tuple[str, int], list[int]] = {}
        self.version = 0  # bumped under the lock by every mutation (keys the page cache)

    @property
    def site_ids(self) -> list[int]:
        return self.layout.site_ids

    # --- single records ----------------------------------------------------------------
    def exists(self, entity: str, index: int) -> bool:
        if index in self.deleted[entity]:
            return False
        return index < self.layout.sizes[entity] or index in self.created[entity]

    def record(self, entity: str, index: int) -> Record:
        rec = dict(self.ctx.base(entity, index))
        changes = self.updates[entity].get(index, {})
        rec.update(changes)
        if REMOVED in changes.values():  # schema drift: the API stopped sending a field
            return {k: v for k, v in rec.items() if v is not REMOVED}
        return rec

    def get(self, entity: str, site: int, record_id: int) -> Record | None:
        """The record as GET /{id} returns it, or None for unknown/deleted/other site."""
        index = self.layout.index_of(entity, record_id)
        with self.lock:
            if index is None or not self.exists(entity, index):
                return None
            if site not in self.layout.sites_of(index):
                return None
            return self.record(entity, index)

    # --- ordered listing ---------------------------------------------------------------
    def _base_deleted_positions(self, entity: str, site: int) -> list[int]:
        key = (entity, site)
        if key not in self._deleted_positions:
            n = self.layout.sizes[entity]
            positions = (self.layout.position_of(i, site) for i in self.deleted[entity] if i < n)
            self._deleted_positions[key] = sorted(p for p in positions if p is not None)
        return self._deleted_positions[key]

    # INFERRED (README §13, §18.3): soft-deleted rows are hidden from lists (Laravel
    # SoftDeletes default); default list order is ascending id (README §7).
    def _created_alive(self, entity: str) -> list[int]:
        return [i for i in self.created[entity] if i not in self.deleted[entity]]

    def count(self, entity: str, site: int) -> int:
        """How many records the list endpoint for (entity, site) holds right now."""
        with self.lock:
            base = self.layout.count_visible(self.layout.sizes[entity], site)
            base -= len(self._base_deleted_positions(entity, site))
            return base + len(self._created_alive(entity))

    def _base_index(self, entity: str, site: int, k: int) -> int:
        """Index of the k-th surviving base record the site sees (skipping deletions)."""
        deleted = self._base_deleted_positions(entity, site)
        m = k
        while True:
            before = bisect_right(deleted, m)
            if m - before == k and (before == 0 or deleted[before - 1] != m):
                return self.layout.index_at(m, site)
            m = k + before

    def indexes(
        self, entity: str, site: int, offset: int, limit: int, *, descending: bool = False
    ) -> list[int]:
        """Indexes of one page in id order (ascending or descending)."""
        with self.lock:
            total = self.count(entity, site)
            created = self._created_alive(entity)
            n_base = total - len(created)
            out = []
            for p in range(offset, min(offset + limit, total)):
                q = total - 1 - p if descending else p
                out.append(self._base_index(entity, site, q) if q < n_base else created[q - n_base])
            return out

    def iter_indexes(self, entity: str, site: int, *, chunk: int = 1000) -> Iterator[int]:
        offset = 0
        while batch := self.indexes(entity, site, offset, chunk):
            yield from batch
            offset += len(batch)

    def iter_records(self, entity: str, site: int) -> Iterator[Record]:
        for index in self.iter_indexes(entity, site):
            yield self.record(entity, index)

    # --- mutations ---------------------------------------------------------------------
    def update(self, entity: str, record_id: int, fields: Record) -> None:
        with self.lock:
            index = self._live_index(entity, record_id)
            changes = dict(fields)
            if "updated_at" in self.ctx.base(entity, index) and "updated_at" not in changes:
                changes["updated_at"] = int(time.time())
            self.updates[entity].setdefault(index, {}).update(changes)
            self._deleted_positions.clear()
            self.version += 1

    def create(self, entity: str, fields: Record) -> int:
        """Append a record (visible on every site); returns its id.

        INFERRED: the docs say nothing on which sites see a new record; every site keeps
        the per-site references of the record consistent.
        """
        with self.lock:
            start = max([self.layout.sizes[entity], *(i + 1 for i in self.created[entity])])
            index = start + (SHARED_RESIDUE - start) % MODULUS
            now = int(time.time())
            base = self.ctx.base(entity, index)
            stamps = {k: now for k in TIME_FIELDS if k in base}
            self.updates[entity][index] = {**stamps, **fields, "id": base["id"]}
            self.created[entity].append(index)
            self.version += 1
            return base["id"]

    def delete(self, entity: str, record_id: int) -> list[tuple[str, int]]:
        """Soft-delete (hard for newsletters) with cascade; returns every (entity, id) hit."""
        with self.lock:
            index = self._live_index(entity, record_id)
            self.deleted[entity].add(index)
            if entity in HARD_DELETE:
                self.hard_deleted[entity].add(index)
            self._deleted_positions.clear()
            self.version += 1
            hit = [(entity, record_id)]
            for child, fk, salt in CASCADE.get(entity, []):
                for child_id in self._children(child, fk, entity, index, salt):
                    hit += self.delete(child, child_id)
            return hit

    def _children(self, child: str, fk: str, parent: str, index: int, salt: int) -> list[int]:
        parent_id = self.layout.id_of(parent, index)
        candidates = set(self.layout.children(child, parent, index, salt=salt))
        candidates |= set(self.created[child]) | set(self.updates[child])
        return sorted(
            self.layout.id_of(child, i)
            for i in candidates
            if self.exists(child, i) and self.record(child, i).get(fk) == parent_id
        )

    def _live_index(self, entity: str, record_id: int) -> int:
        index = self.layout.index_of(entity, record_id)
        if index is None or not self.exists(entity, index):
            raise KeyError(f"{entity} {record_id} does not exist")
        return index
