"""Alembic environment: URL from DATABASE_URL (or `-x url=`), schema from PELCRO_SCHEMA."""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, text

from pelcro_sync.config import Settings, parse_schema
from pelcro_sync.warehouse.engine import make_engine, normalize_url, resolve_database_url
from pelcro_sync.warehouse.schema import build_metadata

config = context.config
if config.config_file_name and not config.attributes.get("schema"):
    # The `alembic` command line; programmatic callers keep their own logging.
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _schema() -> str:
    """`config.attributes["schema"]` (programmatic use), else PELCRO_SCHEMA, else `pelcro`."""
    given = config.attributes.get("schema")
    return parse_schema(given) if given else Settings.from_env().schema


def _url() -> str:
    """The caller's URL, `-x url=...`, else DATABASE_URL, else the embedded Postgres."""
    given = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    return normalize_url(given) if given else resolve_database_url(Settings.from_env())


def _configure(schema: str, **kwargs: object) -> None:
    def include_name(name: str | None, type_: str, parent_names: object) -> bool:
        # Only our schema: `alembic check` must not report other people's tables as drift.
        return name == schema if type_ == "schema" else True

    context.configure(
        # A caller may compare against other tables (migrate.check's tests do).
        target_metadata=config.attributes.get("target_metadata") or build_metadata(schema),
        version_table_schema=schema,
        include_schemas=True,
        include_name=include_name,
        compare_type=True,
        # Comments are the data dictionary's (warehouse/comments.py, applied after every
        # upgrade), not the migrations': comparing them would report every one as drift.
        autogenerate_plugins=["alembic.autogenerate.*", "~alembic.autogenerate.comments"],
        **kwargs,
    )


def _migrate(connection: Connection, schema: str) -> None:
    # Two syncs starting together both "migrate if needed": serialise them on the schema name.
    connection.execute(text("select pg_advisory_xact_lock(hashtext(:key))"), {"key": schema})
    connection.execute(text(f'create schema if not exists "{schema}"'))
    _configure(schema, connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    schema = _schema()
    _configure(schema, url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.execute(f'create schema if not exists "{schema}"')
        context.run_migrations()


def run_online() -> None:
    schema = _schema()
    given = config.attributes.get("connection")
    if given is not None:
        # The caller owns this connection and its transaction (and commits it).
        _migrate(given, schema)
        return
    engine = make_engine(_url(), pool_size=1)
    try:
        with engine.connect() as connection, connection.begin():
            _migrate(connection, schema)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
