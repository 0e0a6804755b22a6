"""The SQL of the request budget shared in Postgres (`pelcro_sync.api.budget_pg` runs it).

One row per account in `pelcro_budget.budget`, outside the entity schema and its
migrations: the budget must work even for a process that never migrates. Statements are
rendered once, here: the acquire runs before every API request.
"""

from psycopg import sql

SCHEMA = "pelcro_budget"
_TABLE = sql.Identifier(SCHEMA, "budget")


def _render(template: str) -> sql.SQL:
    return sql.SQL(
        sql.SQL(template).format(schema=sql.Identifier(SCHEMA), table=_TABLE).as_string()
    )


DDL = _render("""
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {table} (
    account_key  text PRIMARY KEY,          -- fingerprint(base URL # credential), never a secret
    tat          double precision NOT NULL, -- GCRA theoretical arrival time, DB epoch seconds
    paused_until double precision NOT NULL, -- nothing goes before this (after a 429)
    per_minute   double precision NOT NULL, -- the rate the last user paced by
    touched      double precision NOT NULL  -- DB time of the last change
)
""")

# Concurrent `CREATE … IF NOT EXISTS` can still collide in the catalog: serialise the DDL.
DDL_LOCK = sql.SQL("SELECT pg_advisory_xact_lock(hashtext('pelcro_budget.ddl'))")

# One statement: reserve the slot after max(tat, pause, now) and report the wait for it.
# `now` is computed once so tat and the returned wait agree.
ACQUIRE = _render("""
WITH now AS (SELECT extract(epoch FROM clock_timestamp())::float8 AS t)
INSERT INTO {table} AS b (account_key, tat, paused_until, per_minute, touched)
SELECT %(key)s, now.t + %(interval)s, 0, %(rate)s, now.t FROM now
ON CONFLICT (account_key) DO UPDATE SET
    tat = greatest(b.tat, b.paused_until, excluded.touched) + %(interval)s,
    per_minute = excluded.per_minute,
    touched = excluded.touched
RETURNING b.tat - %(interval)s - b.touched
""")

PAUSE_LEFT = _render("""
SELECT paused_until - extract(epoch FROM clock_timestamp())::float8
FROM {table} WHERE account_key = %(key)s
""")

PENALIZE = _render("""
WITH now AS (SELECT extract(epoch FROM clock_timestamp())::float8 AS t)
INSERT INTO {table} AS b (account_key, tat, paused_until, per_minute, touched)
SELECT %(key)s, now.t + %(seconds)s, now.t + %(seconds)s, %(rate)s, now.t FROM now
ON CONFLICT (account_key) DO UPDATE SET
    tat = greatest(b.tat, excluded.paused_until),
    paused_until = greatest(b.paused_until, excluded.paused_until),
    touched = excluded.touched
""")

RATE = _render("SELECT per_minute FROM {table} WHERE account_key = %(key)s")
