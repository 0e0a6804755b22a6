"""Each entity asset of the loaded Dagster definitions documents every column of its table
with the data dictionary's words (the asset page's Columns table)."""

import dagster as dg
import pytest
from sqlalchemy import MetaData

from dagster_project.definitions import defs
from dagster_project.defs.assets import asset_key
from pelcro_sync import dictionary
from pelcro_sync.entities import ENTITIES, Entity
from pelcro_sync.warehouse.schema import entity_table

SPECS = {spec.key: spec for spec in defs.resolve_all_asset_specs()}


@pytest.mark.parametrize("entity", ENTITIES, ids=[e.name for e in ENTITIES])
def test_every_column_of_the_asset_has_its_description(entity: Entity) -> None:
    schema = SPECS[asset_key(entity)].metadata["dagster/column_schema"]
    assert isinstance(schema, dg.TableSchema)
    table = entity_table(MetaData(), entity)
    assert [c.name for c in schema.columns] == [c.name for c in table.columns]
    undescribed = [c.name for c in schema.columns if not (c.description or "").strip()]
    assert undescribed == []
    assert {c.name: c.description for c in schema.columns} == dictionary.columns(entity)
    types = {c.name: c.type for c in schema.columns}
    assert (types["site_id"], types["_raw"], types["_deleted_at"]) == (
        "bigint", "jsonb", "timestamptz",
    )  # fmt: skip
