"""Migrations create the contract tables, are idempotent and reversible, and match the registry."""

import pytest
from sqlalchemy import Column, Engine, Text, inspect
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TIMESTAMP, BigInteger, Boolean

from pelcro_sync.entities import ENTITIES
from pelcro_sync.warehouse import migrate
from pelcro_sync.warehouse.errors import MigrationDriftError
from pelcro_sync.warehouse.schema import build_metadata

CONTRACT_TABLES = {
    "customers", "addresses", "subscriptions", "memberships", "plans", "products",
    "ecommerce_products", "skus", "orders", "invoices", "charges", "refunds", "sources",
    "coupons", "newsletters", "organizations", "bills", "vendors",
}  # fmt: skip
# Bookkeeping tables; later revisions may add more, so the table test checks a subset.
INTERNAL_TABLES = {"_sync_runs", "_sync_state", "_scan_seen", "_delete_candidates"}


def _all_revisions() -> list[str]:
    """Every revision from base to head, in the order `upgrade` applies them."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrate.migrations_dir()))
    walk = ScriptDirectory.from_config(config).walk_revisions()
    return [script.revision for script in reversed(list(walk))]


def _columns(engine: Engine, schema: str, table: str) -> dict[str, object]:
    return {c["name"]: c["type"] for c in inspect(engine).get_columns(table, schema=schema)}


def test_upgrade_creates_every_contract_table_with_keys_and_system_columns(
    pg_url: str, pg_engine: Engine, fresh_schema: str
) -> None:
    assert migrate.upgrade(pg_url, schema=fresh_schema) == _all_revisions()
    inspector = inspect(pg_engine)
    tables = set(inspector.get_table_names(schema=fresh_schema))
    assert tables >= CONTRACT_TABLES | INTERNAL_TABLES | {"alembic_version"}
    assert len(CONTRACT_TABLES) == 18 == len(ENTITIES)
    for name in CONTRACT_TABLES:
        pk = inspector.get_pk_constraint(name, schema=fresh_schema)
        assert pk["constrained_columns"] == ["site_id", "id"], name
        cols = _columns(pg_engine, fresh_schema, name)
        assert isinstance(cols["_raw"], postgresql.JSONB), name
        for ts in ("_synced_at", "_deleted_at"):
            assert isinstance(cols[ts], TIMESTAMP) and cols[ts].timezone, (name, ts)


@pytest.mark.parametrize(
    ("table", "column", "kind"),
    [
        ("customers", "created_at", TIMESTAMP),
        ("invoices", "amount_due", BigInteger),
        ("charges", "paid", Boolean),
        ("customers", "metadata", postgresql.JSONB),
        ("customers", "email", Text),
        ("orders", "site_id", BigInteger),
    ],
    ids=["timestamp-is-timestamptz", "money-is-bigint", "flag-is-boolean", "metadata-jsonb",
         "text", "site-id-bigint"],
)  # fmt: skip
def test_typed_columns(
    pg_engine: Engine, migrated_schema: str, table: str, column: str, kind: type
) -> None:
    col_type = _columns(pg_engine, migrated_schema, table)[column]
    assert isinstance(col_type, kind)
    if kind is TIMESTAMP:
        assert col_type.timezone


def test_registry_indexes_exist(pg_engine: Engine, migrated_schema: str) -> None:
    inspector = inspect(pg_engine)
    for entity in ENTITIES:
        found = {
            tuple(ix["column_names"])
            for ix in inspector.get_indexes(entity.name, schema=migrated_schema)
        }
        assert {(col,) for col in entity.indexes} <= found, entity.name


def test_upgrade_again_changes_nothing(pg_url: str, migrated_schema: str) -> None:
    assert migrate.upgrade(pg_url, schema=migrated_schema) == []
    assert migrate.current(pg_url, schema=migrated_schema) == migrate.head() == _all_revisions()[-1]


def test_downgrade_to_base_drops_everything_then_upgrade_works(
    pg_url: str, pg_engine: Engine, migrated_schema: str
) -> None:
    migrate.downgrade(pg_url, schema=migrated_schema)
    assert migrate.current(pg_url, schema=migrated_schema) is None
    assert inspect(pg_engine).get_table_names(schema=migrated_schema) == ["alembic_version"]
    assert migrate.upgrade(pg_url, schema=migrated_schema) == _all_revisions()
    migrate.check(pg_url, schema=migrated_schema)


def test_check_passes_when_migrations_match_the_registry(pg_url: str, migrated_schema: str) -> None:
    migrate.check(pg_url, schema=migrated_schema)


def test_check_fails_on_drift(pg_url: str, migrated_schema: str) -> None:
    """A registry change without a migration (here: one more column) is reported."""
    metadata = build_metadata(migrated_schema)
    metadata.tables[f"{migrated_schema}.customers"].append_column(Column("nickname", Text))
    with pytest.raises(MigrationDriftError, match="nickname"):
        migrate.check(pg_url, schema=migrated_schema, metadata=metadata)


def test_check_fails_before_migrating(pg_url: str, fresh_schema: str) -> None:
    with pytest.raises(MigrationDriftError, match="not up to date"):
        migrate.check(pg_url, schema=fresh_schema)


def test_schema_from_pelcro_schema_env_via_alembic_cli(
    pg_url: str, pg_engine: Engine, fresh_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`alembic upgrade head` reads DATABASE_URL and PELCRO_SCHEMA, and leaves other schemas."""
    from alembic.config import main

    monkeypatch.setenv("DATABASE_URL", pg_url.replace("postgresql+psycopg://", "postgresql://"))
    monkeypatch.setenv("PELCRO_SCHEMA", fresh_schema)
    monkeypatch.chdir(migrate.MIGRATIONS_DIR.parent)
    main(["-c", "alembic.ini", "upgrade", "head"])
    main(["-c", "alembic.ini", "check"])
    assert migrate.current(pg_url, schema=fresh_schema) == migrate.head()
    assert "customers" in inspect(pg_engine).get_table_names(schema=fresh_schema)
    assert "customers" not in inspect(pg_engine).get_table_names(schema="public")
