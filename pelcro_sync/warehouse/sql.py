"""The one way SQL is run here: psycopg `sql` compositions on the psycopg connection under a
SQLAlchemy `Connection`, inside the transaction the caller owns."""

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from sqlalchemy import Connection

Params = Mapping[str, Any] | Sequence[Any] | None
Query = sql.SQL | sql.Composed


def driver(conn: Connection) -> psycopg.Connection:
    """The psycopg connection under `conn`, in a transaction SQLAlchemy knows of."""
    if not conn.in_transaction():
        conn.begin()  # so SQLAlchemy knows of the transaction the caller will commit
    return conn.connection.driver_connection  # type: ignore[return-value]


def one(conn: Connection, query: Query, params: Params = None) -> tuple[Any, ...]:
    """The single row `query` returns."""
    with driver(conn).cursor() as cur:
        row = cur.execute(query, params).fetchone()
    if row is None:
        raise LookupError("query returned no row")
    return row


def scalar(conn: Connection, query: Query, params: Params = None) -> Any:
    """The first column of the single row `query` returns."""
    return one(conn, query, params)[0]


def rows(conn: Connection, query: Query, params: Params = None) -> list[tuple[Any, ...]]:
    """Every row `query` returns, as tuples."""
    with driver(conn).cursor() as cur:
        return cur.execute(query, params).fetchall()


def dicts(conn: Connection, query: Query, params: Params = None) -> list[dict[str, Any]]:
    """Every row `query` returns, as column -> value."""
    with driver(conn).cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def run(conn: Connection, query: Query, params: Params = None) -> int:
    """Execute a statement that returns no rows; how many rows it touched."""
    with driver(conn).cursor() as cur:
        cur.execute(query, params)
        return cur.rowcount
