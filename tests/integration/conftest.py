"""Fixtures of the warehouse-write tests (upsert, first load)."""

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine

from pelcro_sync.warehouse.schema import build_metadata


@pytest.fixture
def schema(pg_engine: Engine, fresh_schema: str) -> str:
    """A throwaway schema with every warehouse table."""
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{fresh_schema}"')
        build_metadata(fresh_schema).create_all(conn)
    return fresh_schema


@pytest.fixture
def conn(pg_engine: Engine, schema: str) -> Iterator[Connection]:
    """Depends on `schema` so it closes first and the schema can be dropped."""
    with pg_engine.connect() as connection:
        yield connection
