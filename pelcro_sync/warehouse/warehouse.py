"""One warehouse per run: its engine, its schema, migrated once when opened, handed down."""

from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType

from psycopg import sql
from sqlalchemy import Connection, Engine

from pelcro_sync.config import Settings, parse_schema
from pelcro_sync.warehouse import migrate
from pelcro_sync.warehouse.engine import (
    check_connection,
    describe,
    make_engine,
    resolve_database_url,
)


@dataclass(frozen=True)
class Warehouse:
    """An engine on one schema of a Postgres warehouse, and how to name it without its password.

    Made by `Warehouse.open` (or `open_warehouse`), which reaches the server and brings the
    schema to the latest migration once; everything below takes this object, never an
    engine and a schema apart. `applied`: the revisions that opening applied.
    """

    url: str
    engine: Engine
    schema: str
    applied: tuple[str, ...] = ()

    @classmethod
    def open(
        cls, url: str, *, schema: str, migrated: bool = True, pool_size: int = 5
    ) -> "Warehouse":
        """Reach the warehouse at `url` and (unless `migrated` is False: read-only callers)
        migrate `schema` when it is not at the latest revision.

        Raises:
            WarehouseError: the server does not answer, or the migrations cannot run.
        """
        schema = parse_schema(schema)
        engine = make_engine(url, pool_size=pool_size)
        try:
            check_connection(engine)
            applied = migrate.ensure_current(url, engine=engine, schema=schema) if migrated else []
        except BaseException:
            engine.dispose()
            raise
        return cls(url=url, engine=engine, schema=schema, applied=tuple(applied))

    def connect(self) -> Connection:
        """A connection from the pool (`with wh.connect() as conn:`)."""
        return self.engine.connect()

    def begin(self) -> AbstractContextManager[Connection]:
        """A connection in a transaction committed at the end of the block."""
        return self.engine.begin()

    def table(self, name: str) -> sql.Identifier:
        """`"schema"."name"`: a table of this warehouse, quoted for a `psycopg.sql` statement."""
        return sql.Identifier(self.schema, name)

    @property
    def where(self) -> str:
        """The URL with its password masked, and the schema: for messages and logs."""
        return f"{describe(self.url)} schema {self.schema}"

    def dispose(self) -> None:
        """Close the pool's connections."""
        self.engine.dispose()

    def __enter__(self) -> "Warehouse":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.dispose()


def open_warehouse(settings: Settings, *, migrated: bool = True) -> Warehouse:
    """The warehouse `settings` name (DATABASE_URL, else the embedded Postgres), opened."""
    url = resolve_database_url(settings)
    return Warehouse.open(url, schema=settings.schema, migrated=migrated)
