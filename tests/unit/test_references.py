"""The registry's references: real columns, real entities, and no cycle (Dagster lineage)."""

from graphlib import TopologicalSorter

import pytest

from pelcro_sync.entities import BY_NAME, ENTITIES, Entity, _check_registry, fields


def test_every_reference_names_a_declared_column_and_entity() -> None:
    for entity in ENTITIES:
        for column, target in entity.references:
            assert column in entity.field_names and target in BY_NAME, (entity.name, column)


def test_references_form_no_cycle() -> None:
    graph = {e.name: {t for _, t in e.references} for e in ENTITIES}
    order = list(TopologicalSorter(graph).static_order())  # raises CycleError on a cycle
    assert order.index("customers") < order.index("subscriptions")
    assert order.index("invoices") < order.index("charges") < order.index("refunds")


def test_a_bad_reference_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = Entity(name="widgets", path="/widgets", fields=fields(bigint="owner"),
                 references=(("owner", "gadgets"),))  # fmt: skip
    monkeypatch.setattr("pelcro_sync.entities.ENTITIES", (*ENTITIES, bad))
    with pytest.raises(ValueError, match="widgets: bad reference owner -> gadgets"):
        _check_registry()
