"""The dbt sources file is generated from the entity registry and kept up to date."""

import yaml

from pelcro_sync.entities import ENTITIES
from pelcro_sync.warehouse import dbt_sources
from pelcro_sync.warehouse.marts import analytics_dir


def test_sources_file_is_up_to_date() -> None:
    """Fails after a registry change until `python -m pelcro_sync.warehouse.dbt_sources` runs."""
    written = (analytics_dir() / dbt_sources.SOURCES_FILE).read_text()
    assert written == dbt_sources.render(), (
        "run: .venv/bin/python -m pelcro_sync.warehouse.dbt_sources"
    )


def test_one_source_per_entity_with_its_columns_and_asset_key() -> None:
    doc = yaml.safe_load(dbt_sources.render())
    (source,) = doc["sources"]
    tables = {t["name"]: t for t in source["tables"]}
    assert list(tables) == [e.name for e in ENTITIES]
    for entity in ENTITIES:
        table = tables[entity.name]
        columns = [c["name"] for c in table["columns"]]
        assert columns == [
            "site_id",
            "id",
            *entity.field_names,
            "_raw",
            "_synced_at",
            "_deleted_at",
        ]
        assert all(c["description"] for c in table["columns"])
        assert table["meta"]["dagster"]["asset_key"] == ["pelcro", entity.name]
        assert f"{entity.name}_history" in table["description"]
