"""Arithmetic layout of the generated data: sizes, ids, site visibility and relationships.

Everything here is O(1) arithmetic on record indexes so that a million-customer sandbox
never materialises a list: record i of an entity is visible on the sites given by
`i % 10`, and every relationship maps a child index to a parent index with the same
residue, so a child is always visible wherever its parent is.
"""

from collections.abc import Iterator
from math import gcd

MODULUS = 10
SHARED_RESIDUE = 9  # records with this residue are visible on every site of the account

# Size of each entity relative to the number of customers.
RATIOS: dict[str, float] = {
    "customers": 1.0,
    "addresses": 1.2,
    "subscriptions": 0.8,
    "memberships": 0.3,
    "invoices": 2.0,
    "charges": 1.5,
    "refunds": 0.1,
    "sources": 0.7,
    "orders": 0.4,
    "newsletters": 0.5,
}
# Catalogue-like entities: proportional but capped, and > 100 per site once customers >= 500.
SMALL_RATIOS: dict[str, float] = {
    "plans": 0.46,
    "products": 0.42,
    "ecommerce_products": 0.42,
    "skus": 0.5,
    "coupons": 0.44,
    "organizations": 0.44,
    "vendors": 0.42,
    "bills": 0.5,
}
SMALL_CAP = 20_000

# (first id, id step). Invoices cross 2**31 after ~200 records; charges start above it.
ID_SCHEME: dict[str, tuple[int, int]] = {
    "customers": (5_001, 1),
    "addresses": (19_001, 1),
    "subscriptions": (104_001, 1),
    "memberships": (12_001, 1),
    "plans": (375_001, 3),
    "products": (5_030, 1),
    "ecommerce_products": (1_201, 1),
    "skus": (7_701, 1),
    "orders": (88_001, 1),
    "invoices": (2_147_482_901, 3),
    "charges": (2_147_483_648 + 85, 2),
    "refunds": (3_301, 1),
    "sources": (510_782, 1),
    "coupons": (2_101, 1),
    "newsletters": (61_001, 1),
    "organizations": (4_001, 1),
    "bills": (12_301, 1),
    "vendors": (78_901, 1),
}


def _round10(value: float) -> int:
    return max(MODULUS, round(value / MODULUS) * MODULUS)


class Layout:
    """Sizes, ids, visibility and parent maps of one account's generated data."""

    def __init__(self, customers: int, site_ids: list[int], *, id_offset: int = 0) -> None:
        self.site_ids = site_ids
        self.id_offset = id_offset
        self.sizes = {name: _round10(customers * r) for name, r in RATIOS.items()}
        for name, ratio in SMALL_RATIOS.items():
            self.sizes[name] = min(SMALL_CAP, _round10(customers * ratio))
        self._residues = {s: self._residues_of(s) for s in site_ids}

    # --- sites -------------------------------------------------------------------------
    def sites_of(self, index: int) -> list[int]:
        residue = index % MODULUS
        if residue == SHARED_RESIDUE:
            return list(self.site_ids)
        return [self.site_ids[residue * len(self.site_ids) // SHARED_RESIDUE]]

    def _residues_of(self, site: int) -> tuple[int, ...]:
        return tuple(r for r in range(MODULUS) if site in self.sites_of(r))

    def count_visible(self, n: int, site: int) -> int:
        """How many of indexes 0..n-1 the site sees."""
        residues = self._residues[site]
        full, rest = divmod(n, MODULUS)
        return full * len(residues) + sum(1 for r in residues if r < rest)

    def index_at(self, position: int, site: int) -> int:
        """The index of the position-th (0-based) record the site sees."""
        residues = self._residues[site]
        block, k = divmod(position, len(residues))
        return block * MODULUS + residues[k]

    def position_of(self, index: int, site: int) -> int | None:
        """Inverse of `index_at`; None when the site does not see the index."""
        residues = self._residues[site]
        block, residue = divmod(index, MODULUS)
        if residue not in residues:
            return None
        return block * len(residues) + residues.index(residue)

    # --- ids ---------------------------------------------------------------------------
    def id_of(self, entity: str, index: int) -> int:
        first, step = ID_SCHEME[entity]
        return self.id_offset + first + index * step

    def index_of(self, entity: str, record_id: int) -> int | None:
        first, step = ID_SCHEME[entity]
        offset = record_id - self.id_offset - first
        if offset < 0 or offset % step:
            return None
        return offset // step

    # --- relationships -----------------------------------------------------------------
    def _multiplier(self, blocks: int, salt: int) -> int:
        candidate = 7919 + 104 * salt  # odd primes-ish; coprimality is what matters
        while gcd(candidate, blocks) != 1:
            candidate += 2
        return candidate

    def parent(self, parent: str, child_index: int, *, salt: int = 0) -> int:
        """Index of the `parent` record of child_index: same residue, scattered block."""
        blocks = self.sizes[parent] // MODULUS
        block, residue = divmod(child_index, MODULUS)
        a = self._multiplier(blocks, salt)
        return ((block * a + salt) % blocks) * MODULUS + residue

    def children(
        self, child: str, parent: str, parent_index: int, *, salt: int = 0, limit: int | None = None
    ) -> Iterator[int]:
        """Indexes of `child` records whose parent (same salt) is parent_index, ascending."""
        blocks = self.sizes[parent] // MODULUS
        parent_block, residue = divmod(parent_index, MODULUS)
        if parent_block >= blocks:
            return
        a = self._multiplier(blocks, salt)
        block = ((parent_block - salt) * pow(a, -1, blocks)) % blocks
        end = self.sizes[child] if limit is None else limit
        while block * MODULUS + residue < end:
            yield block * MODULUS + residue
            block += blocks
