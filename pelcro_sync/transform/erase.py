"""What `forget` erases in one record: concrete JSON paths found from the registry's
personal-data declarations (`entities.PERSONAL`). Pure: no I/O, nothing modified.

Erasing a value means setting it to null where it is, keeping its key, so a record keeps
its shape and everything that was not declared personal (ids, amounts, dates, statuses).
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pelcro_sync.entities import BY_NAME, ENTITIES, Entity

# A concrete path into a JSON value: object keys and array indexes.
JsonPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Person:
    """The customer being forgotten, and what the erasure learned about them so far.

    Attributes:
        customer_id: Pelcro's id of the customer.
        emails: their email addresses (lower case), read from their records before erasing.
        owned: per entity, the ids of the records found to be theirs (for `via` links).
    """

    customer_id: int
    emails: frozenset[str] = frozenset()
    owned: Mapping[str, frozenset[int]] = field(default_factory=dict)

    def learn(self, entity: Entity, ids: set[int], records: Sequence[Any]) -> "Person":
        """This person, knowing `ids` of `entity` are theirs and the emails `records` hold."""
        found = {
            value.strip().lower()
            for record in records
            for path in entity.personal.contact
            for _, value in walk(record, path)
            if isinstance(value, str) and value.strip()
        }
        owned = {**self.owned, entity.name: self.owned.get(entity.name, frozenset()) | ids}
        return replace(self, emails=self.emails | found, owned=owned)


def erasure_order() -> list[Entity]:
    """The entities that hold personal data: customers first (their emails identify the
    contact-only records), then each after the entities its `via` links name."""
    pending = [e for e in ENTITIES if e.personal.any and e.name != "customers"]
    order = [BY_NAME["customers"]]
    while pending:
        done = {e.name for e in order}
        ready = [e for e in pending if all(t in done for _, t in e.personal.via)]
        if not ready:
            raise ValueError(f"personal data: `via` links form a cycle among {pending}")
        order += ready
        pending = [e for e in pending if e not in ready]
    return order


def touched_columns(entity: Entity) -> tuple[str, ...]:
    """Typed columns an erasure may change: those a personal path starts in."""
    spec = entity.personal
    heads = {p.split(".", 1)[0] for p in (*spec.erase, *spec.free_text)}
    heads |= {p.split(".", 1)[0] for p, _ in spec.embeds}
    return tuple(name for name in entity.field_names if name in heads)


def verdict(entity: Entity, record: Any, person: Person) -> bool | None:
    """Whether `record` is the person's: by its owner id, else its contact email, else the
    record its `via` link names; None when it says nothing about whose it is."""
    if not isinstance(record, dict):
        return None
    spec = entity.personal
    owners = [i for p in spec.owner for _, v in walk(record, p) if (i := _as_int(v)) is not None]
    if owners:
        return person.customer_id in owners
    emails = [
        v.strip().lower()
        for p in spec.contact
        for _, v in walk(record, p)
        if isinstance(v, str) and v.strip()
    ]
    if emails:
        return any(e in person.emails for e in emails)
    for path, target in spec.via:
        linked = [i for _, v in walk(record, path) if (i := _as_int(v)) is not None]
        if linked:
            return any(i in person.owned.get(target, ()) for i in linked)
    return None


def erasures(entity: Entity, record: Any, person: Person, *, owned: bool) -> list[JsonPath]:
    """The paths in `record` to set to null, outermost only, none already null.

    `owned` says whether the record is the person's (the caller decides, from `verdict`
    and what it knows); records embedded in it decide for themselves when they can.
    """
    found: list[JsonPath] = []
    _collect(entity, record, person, owned, (), found)
    kept: list[JsonPath] = []
    for path in sorted(set(found), key=len):
        if not any(path[: len(k)] == k for k in kept):
            kept.append(path)
    return kept


def _collect(
    entity: Entity,
    record: Any,
    person: Person,
    owned: bool,
    prefix: JsonPath,
    found: list[JsonPath],
) -> None:
    spec = entity.personal
    if owned:
        for path in spec.erase:
            found += [prefix + at for at, value in walk(record, path) if value is not None]
        for path in spec.free_text:
            for at, value in walk(record, path):
                found += [prefix + at + inner for inner in _strings(value)]
    for path, target in spec.embeds:
        inner_entity = BY_NAME[target]
        for at, value in walk(record, path):
            if isinstance(value, dict):
                mine = verdict(inner_entity, value, person)
                theirs = owned if mine is None else mine
                _collect(inner_entity, value, person, theirs, prefix + at, found)


def walk(value: Any, path: str) -> Iterator[tuple[JsonPath, Any]]:
    """(concrete path, value) for each value a declared path reaches; `*`: every element."""
    yield from _walk(value, path.split("."), ())


def _walk(value: Any, keys: list[str], at: JsonPath) -> Iterator[tuple[JsonPath, Any]]:
    if not keys:
        yield at, value
        return
    key, rest = keys[0], keys[1:]
    if key == "*":
        if isinstance(value, list):
            for index, item in enumerate(value):
                yield from _walk(item, rest, (*at, index))
    elif isinstance(value, dict) and key in value:
        yield from _walk(value[key], rest, (*at, key))


def _strings(value: Any) -> Iterator[JsonPath]:
    """Relative paths of every string inside `value` (itself included)."""
    if isinstance(value, str):
        yield ()
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from ((key, *inner) for inner in _strings(item))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from ((index, *inner) for inner in _strings(item))


def _as_int(value: Any) -> int | None:
    """An id from an int or a digit string (ids travel as both); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
