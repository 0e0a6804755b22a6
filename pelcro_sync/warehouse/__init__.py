"""The Postgres warehouse: all of the library's SQL, written in one style, `psycopg.sql`.

One style, psycopg's `sql` module, because it is the only one that covers all of it: the
tuned write path (binary COPY, the merge, its rendered-statement cache) cannot be written
in SQLAlchemy Core, while Core's statements can all be written as plain SQL, which reads
as what Postgres runs. Identifiers are composed with `sql.Identifier` (never formatted
into the text), values are bound parameters, and statements run on the psycopg connection
under a SQLAlchemy `Connection` (`warehouse.sql`), in the caller's transaction.
SQLAlchemy stays for the engine and pool, the table declarations (`schema`) and Alembic.
A `Warehouse` (`warehouse.warehouse`) is the one handle: engine + schema, migrated once.
"""
