"""The data dictionary describes every registry field and warehouse column, and nothing else."""

import pytest
from sqlalchemy import MetaData

from pelcro_sync import dictionary
from pelcro_sync.entities import ENTITIES, SYSTEM_COLUMNS, Entity, fields
from pelcro_sync.warehouse.comments import described
from pelcro_sync.warehouse.schema import build_metadata, entity_table


def test_every_registry_entity_and_field_is_described() -> None:
    assert dictionary.problems() == []


def test_every_column_the_warehouse_declares_is_described() -> None:
    """Entity tables and bookkeeping tables alike: a new column needs its words too."""
    wanted = described()
    for table in build_metadata("pelcro").tables.values():
        columns = wanted.get(table.name, {})
        assert columns.get(None), f"{table.name}: no table description"
        missing = [c.name for c in table.columns if not columns.get(c.name)]
        assert missing == [], table.name


def test_system_and_history_columns_are_described() -> None:
    assert set(dictionary.SYSTEM) == set(SYSTEM_COLUMNS)
    assert {"_valid_from", "_valid_to", "_raw"} <= set(dictionary.HISTORY)
    for text in (*dictionary.SYSTEM.values(), *dictionary.HISTORY.values()):
        assert text.strip()


@pytest.mark.parametrize("entity", ENTITIES, ids=[e.name for e in ENTITIES])
def test_columns_follow_the_table_order(entity: Entity) -> None:
    table = entity_table(MetaData(), entity)
    assert list(dictionary.columns(entity)) == [c.name for c in table.columns]


def test_history_table_and_columns() -> None:
    customers = ENTITIES[0]
    assert dictionary.history_table(customers).startswith("Every version of customers")
    history = dictionary.history_columns(customers)
    assert history["_raw"] == dictionary.HISTORY["_raw"] != dictionary.SYSTEM["_raw"]
    assert history["email"] == dictionary.columns(customers)["email"]
    assert history["_valid_to"].startswith("When the next version")


def test_own_description_wins_over_the_shared_one() -> None:
    charges = next(e for e in ENTITIES if e.name == "charges")
    plans = next(e for e in ENTITIES if e.name == "plans")
    assert dictionary.describe(charges, "currency") == dictionary.FIELDS["charges"]["currency"]
    assert dictionary.describe(plans, "currency") == dictionary.COMMON["currency"]


def test_an_unknown_column_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match=r"customers\.nickname has no description"):
        dictionary.describe(ENTITIES[0], "nickname")


TOY = Entity(name="toys", path="/toys", fields=fields(text="name colour", timestamp="created_at"))


@pytest.mark.parametrize(
    ("fields_", "common", "tables", "expected"),
    [
        ({"toys": {"name": "Name"}}, {"created_at": "Made"}, {"toys": "Toys"},
         ["toys.colour: no description"]),
        ({"toys": {"name": "Name", "colour": "C", "size": "S"}}, {"created_at": "Made"},
         {"toys": "Toys"}, ["toys.size: described, not a field"]),
        ({"toys": {"name": "Name", "colour": "C"}}, {"created_at": "Made", "weight": "W"},
         {"toys": "Toys"}, ["COMMON weight: no entity uses it"]),
        ({"toys": {"name": "Name", "colour": "C", "created_at": "Made"}},
         {"created_at": "Made"}, {"toys": "Toys"}, ["COMMON created_at: no entity uses it"]),
        ({"toys": {"name": "Name", "colour": "C"}}, {"created_at": "Made"}, {},
         ["toys: no table description"]),
        ({"toys": {"name": "Name", "colour": "C"}, "games": {}}, {"created_at": "Made"},
         {"toys": "Toys", "games": "G"},
         ["games: table described, not an entity", "games: fields described, not an entity"]),
        ({"toys": {"name": "Name", "colour": " "}}, {"created_at": "Made"}, {"toys": "Toys"},
         ["toys.colour: empty description"]),
    ],
    ids=["field-undescribed", "stale-field", "common-unused", "common-shadowed", "no-table-text",
         "stale-entity", "empty-text"],
)  # fmt: skip
def test_problems_are_reported(
    fields_: dict[str, dict[str, str]],
    common: dict[str, str],
    tables: dict[str, str],
    expected: list[str],
) -> None:
    found = dictionary.problems(entities=(TOY,), fields=fields_, common=common, tables=tables)
    assert found == expected
