"""Building blocks for generated records: seeded RNGs, name pools, awkward values, times."""

from functools import lru_cache
from random import Random
from typing import Any

from pelcro_sandbox.layout import Layout

T0 = 1_546_300_800  # 2019-01-01: the oldest generated record
SPAN = 1_748_736_000 - T0  # up to 2025-06-01, so records created "now" sort last

FIRST = [
    "Jane",
    "John",
    "José",
    "Zoë",
    "Łukasz",
    "Ngozi",
    "Søren",
    "Renée",
    "Mei",
    "Ahmed",
    "Olivia",
    "Liam",
    "Дмитрий",
    "محمد",
    "Chloé",
    "Björn",
    "Aoife",
    "Raj",
    "Ana",
    "Kenji",
]
LAST = [
    "Doe",
    "O'Brien",
    "Müller",
    "D'Angelo",
    "Nguyễn",
    "van der Berg",
    "Smith",
    "Tanaka",
    "García",
    "Kowalski",
    "Okafor",
    "Dubois",
    "Иванов",
    "Al-Sayed",
    "Lee",
    "Brown",
]
DOMAINS = ["example.com", "acme-news.com", "mail.example.org", "exämple.de", "example.co.uk"]
PLACES = [
    ("Montreal", "QC", "CA", "H2X 1Y4"),
    ("New York", "NY", "US", "10001"),
    ("Toronto", "ON", "CA", "M5V 2T6"),
    ("Austin", "TX", "US", "73301"),
    ("London", None, "GB", "SW1A 1AA"),
    ("Sydney", "NSW", "AU", "2000"),
    ("Berlin", None, "DE", "10115"),
    ("Québec", "QC", "CA", "G1R 4P5"),
]
STREETS = [
    "Main St",
    "Rue Sainte-Catherine",
    "King St W",
    "Baker Street",
    "Königstraße",
    "Av. de l'Église",
    "Elm Ave",
]
CURRENCIES = ["usd", "cad", "eur", "gbp"]

# Real data has all of these; each one has broken some ETL somewhere.
AWKWARD = [
    "'); DROP TABLE customers;--",
    'She said "hello" \\ and left',
    "tab\there\nand a newline",
    "emoji 🎉📰✨ and a flag 🇨🇦",
    "𝕌𝕟𝕚𝕔𝕠𝕕𝕖 ∑ ≠ ∞ — “curly” ‘quotes’",
    "C:\\Users\\admin\\",
    "null",
    "",
    "  padded  ",
    "Robert'); SELECT pg_sleep(10);--",
]
METADATA_KEYS = ["key.with.dots", "key with spaces", 'quote"key', "it's", "ключ", "x-dash"]
LOREM = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. "


def rng_for(seed: int, entity: str, index: int) -> Random:
    """The RNG for one record; a string seed is hashed stably across processes."""
    return Random(f"{seed}|{entity}|{index}")


def every(index: int, period: int, offset: int = 0) -> bool:
    """True for a deterministic 1-in-period sprinkle of records."""
    return index % period == offset % period


def maybe(rng: Random, value: Any, p_null: float = 0.2) -> Any:
    return None if rng.random() < p_null else value


def long_text(rng: Random, kilobytes: int) -> str:
    """Several KB of text with a little unicode so byte and char lengths differ."""
    return (LOREM * (kilobytes * 1024 // len(LOREM) + 1))[: kilobytes * 1024] + " — fin ✓"


def awkward_text(index: int) -> str:
    return AWKWARD[index % len(AWKWARD)]


class GenContext:
    """What a record factory may consult: the layout, the seed, size knobs and clocks."""

    def __init__(self, layout: Layout, *, seed: int, huge_value_bytes: int = 0) -> None:
        self.layout = layout
        self.seed = seed
        self.huge_value_bytes = huge_value_bytes
        self.factories: dict[str, Any] = {}  # filled by generate.py
        self.base = lru_cache(maxsize=8192)(self._base)

    def id(self, entity: str, index: int) -> int:
        return self.layout.id_of(entity, index)

    def parent(self, parent: str, index: int, *, salt: int = 0) -> int:
        return self.layout.parent(parent, index, salt=salt)

    def parent_id(self, parent: str, index: int, *, salt: int = 0) -> int:
        return self.id(parent, self.parent(parent, index, salt=salt))

    def created(self, entity: str, index: int, rng: Random) -> int:
        """Creation time, non-decreasing in index, so id order is creation order."""
        n = self.layout.sizes[entity]
        step = SPAN / n
        return T0 + int(index * step) + rng.randrange(max(1, int(step)))

    def first_child(self, child: str, parent: str, parent_index: int) -> int | None:
        return next(iter(self.layout.children(child, parent, parent_index)), None)

    def _base(self, entity: str, index: int) -> dict[str, Any]:
        """The generated (pre-mutation) record; embedded snapshots use it."""
        rng = rng_for(self.seed, entity, index)
        return self.factories[entity](self, index, rng)
