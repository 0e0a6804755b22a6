"""The dbt sources of the analytics project, rendered from the entity registry.

One declaration in `pelcro_sync.entities` yields the table, its history table and their dbt
sources. Regenerate after changing the registry (a test fails while the file is stale):

    .venv/bin/python -m pelcro_sync.warehouse.dbt_sources
"""

import sys
from typing import Any

import yaml

from pelcro_sync.entities import ENTITIES, Entity
from pelcro_sync.warehouse.marts import analytics_dir

SOURCE_NAME = "pelcro"
SOURCES_FILE = "models/staging/_pelcro__sources.yml"
_TYPES = {"json": "jsonb", "timestamp": "timestamptz"}
HEADER = (
    "# Generated from pelcro_sync/entities.py by `python -m pelcro_sync.warehouse.dbt_sources`;"
    " do not edit.\n"
)


SYSTEM_DOCS = {
    "site_id": ("bigint", "Site the record was read through."),
    "id": ("bigint", "Pelcro's id."),
    "_raw": ("jsonb", "The record as the API sent it."),
    "_synced_at": ("timestamptz", "When the row last changed."),
    "_deleted_at": ("timestamptz", "Set when found deleted in Pelcro."),
}


def _system(name: str) -> dict[str, Any]:
    data_type, description = SYSTEM_DOCS[name]
    return {"name": name, "data_type": data_type, "description": description}


def _columns(entity: Entity) -> list[dict[str, Any]]:
    columns = [_system("site_id"), _system("id")]
    for field in entity.fields:
        description = getattr(field, "description", "")  # the registry may describe fields
        columns.append(
            {
                "name": field.name,
                "data_type": _TYPES.get(field.kind, field.kind),
                "description": description or f"API field `{field.name}`.",
            }
        )
    return [*columns, _system("_raw"), _system("_synced_at"), _system("_deleted_at")]


def _table(entity: Entity) -> dict[str, Any]:
    """The entity's source. Its history table is no source of its own: models read it with
    `history_source('<entity>')`, so the one entity asset `pelcro/<entity>`, which writes
    both, is their upstream in Dagster (dagster-dbt refuses two sources on one asset key)."""
    return {
        "name": entity.name,
        "description": f"Pelcro {entity.name} (GET {entity.path}), one row per (site_id, id); "
        f"every version of each row since capture began is in `{entity.name}_history` "
        "(these columns plus `_valid_from` and `_valid_to`, null for the open version).",
        "meta": {"dagster": {"asset_key": [SOURCE_NAME, entity.name]}},
        "columns": _columns(entity),
    }


def render() -> str:
    """The sources file's text."""
    doc = {
        "version": 2,
        "sources": [
            {
                "name": SOURCE_NAME,
                "description": "The warehouse tables pelcro-sync keeps (schema PELCRO_SCHEMA).",
                "schema": "{{ env_var('PELCRO_SCHEMA', 'pelcro') }}",
                "tables": [_table(entity) for entity in ENTITIES],
            }
        ],
    }
    return HEADER + yaml.safe_dump(doc, sort_keys=False, width=100, allow_unicode=True)


def write() -> bool:
    """Write the sources file; whether it changed."""
    path = analytics_dir() / SOURCES_FILE
    text = render()
    if path.is_file() and path.read_text() == text:
        return False
    path.write_text(text)
    return True


if __name__ == "__main__":
    changed = write()
    sys.stdout.write(f"{SOURCES_FILE}: {'written' if changed else 'up to date'}\n")
