"""Warehouse tables built from the entity registry: one table per entity in one schema."""

from sqlalchemy import (
    TIMESTAMP,
    BigInteger,
    Boolean,
    Column,
    Index,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine

from pelcro_sync.entities import ENTITIES, Entity, Kind

COLUMN_TYPES: dict[Kind, type[TypeEngine] | TypeEngine] = {
    "bigint": BigInteger,
    "numeric": Numeric,
    "text": Text,
    "boolean": Boolean,
    "timestamp": TIMESTAMP(timezone=True),
    "json": JSONB,
}


def entity_table(metadata: MetaData, entity: Entity) -> Table:
    """The warehouse table of one entity, declared on `metadata` (whose schema it takes)."""
    name = entity.name
    return Table(
        name,
        metadata,
        Column("site_id", BigInteger, nullable=False, comment="site the record was read through"),
        Column("id", BigInteger, nullable=False, comment="Pelcro's id"),
        *(Column(f.name, COLUMN_TYPES[f.kind], nullable=True) for f in entity.fields),
        Column("_raw", JSONB, nullable=False, comment="the record exactly as the API sent it"),
        Column("_synced_at", TIMESTAMP(timezone=True), nullable=False),
        Column("_deleted_at", TIMESTAMP(timezone=True), nullable=True),
        PrimaryKeyConstraint("site_id", "id", name=f"{name}_pkey"),
        *(Index(f"ix_{name}_{col}", col) for col in entity.indexes),
    )


def build_metadata(schema: str) -> MetaData:
    """All warehouse tables in `schema`: the migrations' target and `alembic check`'s truth."""
    metadata = MetaData(schema=schema)
    for entity in ENTITIES:
        entity_table(metadata, entity)
    return metadata
