"""Schema drift seen in API records, for the run summary and Dagster metadata.

The sync never stops for drift: every value is kept in `_raw` whatever its shape. What it
reports is what an analyst needs to know before trusting the typed columns: top-level
fields the registry does not declare (new in the API), declared fields records no longer
carry, and values that did not fit their column (normalize's `type_errors`).
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pelcro_sync.entities import SYSTEM_COLUMNS, Entity
from pelcro_sync.transform.normalize import sanitize


@dataclass
class Drift:
    """Per field, how many records showed it: undeclared (`new_fields`) or absent
    (`missing_fields`)."""

    new_fields: Counter[str] = field(default_factory=Counter)
    missing_fields: Counter[str] = field(default_factory=Counter)
    # What earlier runs of this site and entity already reported (None: never ran). The API
    # sends some undeclared fields and omits some declared ones on every record; reporting
    # those each run would bury the change that matters.
    known_new: frozenset[str] | None = None
    known_missing: frozenset[str] | None = None

    def remember(self, baseline: Mapping[str, Any] | None) -> None:
        if baseline is not None:
            self.known_new = frozenset(baseline.get("new", ()))
            self.known_missing = frozenset(baseline.get("missing", ()))

    def novel_new(self) -> Counter[str]:
        return _without(self.new_fields, self.known_new)

    def novel_missing(self) -> Counter[str]:
        return _without(self.missing_fields, self.known_missing)

    def observe(self, entity: Entity, records: Iterable[Mapping[str, Any]]) -> None:
        declared = set(entity.field_names) | set(SYSTEM_COLUMNS)
        expected = set(entity.field_names)
        # Records of one endpoint nearly all share one shape: compare each distinct shape
        # once rather than every record's keys, and the common case (every record has the
        # first one's keys) without building a key tuple per record.
        if isinstance(records, list) and set(map(type, records)) <= {dict}:
            shapes = _shapes(records)
        else:  # the unusual page
            shapes = Counter(tuple(r) for r in records if isinstance(r, Mapping))
        for keys, n in shapes.items():
            for name in (k for k in keys if k not in declared):
                # The names are stored (the run's drift, jsonb): under the text policy.
                self.new_fields[sanitize(name)] += n
            for name in expected.difference(keys):
                self.missing_fields[name] += n

    def __bool__(self) -> bool:
        return bool(self.novel_new() or self.novel_missing())


def _shapes(records: list[dict[str, Any]]) -> Counter[tuple[str, ...]]:
    """How many records have each set of keys."""
    if records:
        first = records[0].keys()
        if all(map(first.__eq__, map(dict.keys, records))):
            return Counter({tuple(first): len(records)})
    return Counter(tuple(record) for record in records)


def _without(seen: Counter[str], known: frozenset[str] | None) -> Counter[str]:
    return Counter({k: v for k, v in seen.items() if not known or k not in known})


def describe(drift: Drift, type_errors: Mapping[str, int]) -> str:
    """One line, '' when there is nothing to say: 'new fields a, b; missing c; untyped d (3)'."""
    parts = []
    if new := drift.novel_new():
        parts.append("new fields " + ", ".join(sorted(new)))
    if missing := drift.novel_missing():
        parts.append("missing " + ", ".join(sorted(missing)))
    untyped = {k: v for k, v in type_errors.items() if v}
    if untyped:
        parts.append("untyped " + ", ".join(f"{k} ({v})" for k, v in sorted(untyped.items())))
    return "; ".join(parts)


def metadata(drift: Drift, type_errors: Mapping[str, int]) -> dict[str, Any]:
    """Dagster metadata entries (plain values) describing the drift of one run."""
    return {
        "drift": describe(drift, type_errors) or "none",
        "new_fields": sorted(drift.novel_new()),
        "missing_fields": sorted(drift.novel_missing()),
    }
