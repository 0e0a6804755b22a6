"""The data dictionary as `COMMENT`s on every table and column of the warehouse schema.

Applied after every `migrate` (`migrate.upgrade`), not by the migrations: the texts change
more often than the tables, and they live outside the SQLAlchemy metadata so that Alembic
never sees them as drift (migrations/env.py leaves comments out of its comparison). Tables
or columns that do not exist (yet) are skipped; comments already right are not rewritten,
so an up-to-date warehouse costs one read and writes nothing.
"""

import json
import logging

import psycopg
from sqlalchemy import Connection, text

from pelcro_sync import dictionary
from pelcro_sync.config import parse_schema
from pelcro_sync.entities import ENTITIES
from pelcro_sync.warehouse import schema as tables
from pelcro_sync.warehouse.engine import make_engine

log = logging.getLogger(__name__)

INSUFFICIENT_PRIVILEGE = "42501"  # SQLSTATE of COMMENT ON by a role that does not own it

# Per table: its description (key None) and its columns'. The bookkeeping tables are
# pelcro-sync's own, so their words live here rather than in the Pelcro dictionary.
Described = dict[str, dict[str | None, str]]

_SITE = "Pelcro site"
_ENTITY = "Entity table name, e.g. customers"
_RECORD = "Pelcro's id of the record"

BOOKKEEPING: Described = {
    tables.SYNC_RUNS: {
        None: "pelcro-sync bookkeeping: one row per sync of one entity on one site, with its "
        "outcome and counts",
        "run_id": "Id of the run",
        "site_id": _SITE,
        "entity": _ENTITY,
        "mode": "fast (newest records first) or full (a complete scan)",
        "started_at": "When the run started",
        "finished_at": "When it ended; null while running or if its process died",
        "status": "running, succeeded or failed",
        "records_read": "Records read from the API",
        "inserted": "Rows inserted",
        "updated": "Rows whose content changed",
        "unchanged": "Records read whose row was already identical",
        "deleted": "Rows marked deleted (_deleted_at set)",
        "requests": "API requests made",
        "retries": "Requests retried after a transient error",
        "throttled": "Responses 429 (rate limited)",
        "type_errors": "Per column, how many values did not fit its type (kept in _raw)",
        "error": "One-line reason it failed, secrets redacted",
        "host": "Host that ran it",
        "pid": "Process id that ran it, to spot runs whose process died",
    },
    tables.SYNC_STATE: {
        None: "pelcro-sync bookkeeping: per site and entity, the last complete scan and the "
        "progress of the one in flight",
        "site_id": _SITE,
        "entity": _ENTITY,
        "last_complete_scan_at": "When the last complete scan finished",
        "last_complete_scan_total": "Records the API reported (meta.total) in that scan",
        "scan_started_at": "When the scan in flight started; null when none is",
        "scan_run_id": "Run of the scan in flight (see _sync_runs)",
        "scan_next_page": "Next page the scan in flight reads; a resumed scan starts there",
        "scan_sort": "Sort order of the scan in flight",
        "max_id_seen": "Highest record id read, where the fast path stops",
        "last_success_at": "When a sync of it last succeeded",
        "updated_at": "When this row last changed",
        "drift_baseline": "Undeclared and absent fields already reported: {new: [...], "
        "missing: [...]}",
    },
    tables.SCAN_SEEN: {
        None: "pelcro-sync bookkeeping: the ids the scan in flight has read, per site and entity",
        "site_id": _SITE,
        "entity": _ENTITY,
        "id": _RECORD,
    },
    tables.DELETE_CANDIDATES: {
        None: "pelcro-sync bookkeeping: live rows a complete scan did not see, awaiting "
        "confirmation before they are marked deleted",
        "site_id": _SITE,
        "entity": _ENTITY,
        "id": _RECORD,
        "first_missed_at": "When a scan first missed the record",
        "misses": "Complete scans in a row that did not see it",
    },
    tables.WEBHOOK_EVENTS: {
        None: "Every webhook delivery received, stored once per event id before it is applied",
        "event_id": "Pelcro's event id (evt_...)",
        "type": "Event type, e.g. subscription.updated",
        "created_at": "When Pelcro created the event (the envelope's created)",
        "received_at": "When the receiver stored it",
        "entity": "Entity table the event concerns; null when none",
        "site_id": "Site of the object (its site_id, or the first of its site_ids)",
        "object_id": "Id of the object the event carries",
        "payload": "The event envelope as delivered",
        "applied_at": "When it was applied to the entity table; null until then",
        "apply_note": "Outcome: applied, stale (a newer event won), ignored and why",
        "apply_error": "One-line reason it could not be applied",
    },
    tables.WEBHOOK_APPLIED: {
        None: "Per site, entity and object: the newest webhook event applied, so that an older "
        "one never overwrites it",
        "site_id": _SITE,
        "entity": _ENTITY,
        "object_id": "Id of the object",
        "last_event_created": "Creation time of the newest event applied",
        "last_event_id": "Id of that event",
    },
    tables.ERASURES: {
        None: "One row per pelcro-sync forget: a customer's personal data erased from the "
        "current tables, their history and the stored webhook events",
        "erasure_id": "Id of the erasure",
        "customer_id": "Pelcro's id of the customer whose personal data was erased",
        "site_id": "Site the erasure was limited to; null for every site",
        "sites": "Sites the customer was found on",
        "erased_at": "When the erasure was committed (its transaction's start)",
        "erased_by": "Who ran it: the --by option, else the operating-system user",
        "database_role": "Database role that ran it",
        "row_counts": "Per table, the rows whose personal values were erased",
        "rows_changed": "Rows changed in all tables together",
    },
    "alembic_version": {
        None: "Alembic's record of the migration this schema is at",
        "version_num": "Id of the latest migration applied",
    },
    "subscription_status_changes": {
        None: "Each change of a subscription's status, read from subscriptions_history",
        "site_id": _SITE,
        "subscription_id": "Id of the subscription (see subscriptions)",
        "customer_id": "Id of its customer (see customers)",
        "from_status": "Status before the change; null for the first version",
        "to_status": "Status after the change",
        "changed_at": "When the warehouse observed the change",
        "plan_id": "Id of its plan after the change (see plans)",
        "quantity": "Its quantity after the change",
    },
}


def described() -> Described:
    """Every table the warehouse schema may hold, with its description and its columns'."""
    wanted: Described = {}
    for entity in ENTITIES:
        wanted[entity.name] = {None: dictionary.table(entity)}
        wanted[entity.name].update(dictionary.columns(entity))
        wanted[f"{entity.name}_history"] = {None: dictionary.history_table(entity)}
        wanted[f"{entity.name}_history"].update(dictionary.history_columns(entity))
    return wanted | BOOKKEEPING


# Joins what is wanted with what exists, and renders (quoting done by Postgres: %I, %L) the
# COMMENT statements whose text differs. Missing tables and columns drop out of the joins.
_PENDING = text("""
with wanted as (
    select w.t, w.c, w.d
    from jsonb_to_recordset(cast(:wanted as jsonb)) as w(t text, c text, d text)
), found as (
    select w.*, k.relkind, case when w.c is null then obj_description(k.oid, 'pg_class')
        else col_description(k.oid, a.attnum) end as present
    from wanted w
    join pg_namespace n on n.nspname = :schema
    join pg_class k on k.relname = w.t and k.relnamespace = n.oid
        and k.relkind in ('r', 'p', 'v', 'm', 'f')
    left join pg_attribute a on a.attrelid = k.oid and a.attname = w.c
        and a.attnum > 0 and not a.attisdropped
    where w.c is null or a.attnum is not null
)
select case when c is null then format('comment on %s %I.%I is %L',
        case relkind when 'v' then 'view' when 'm' then 'materialized view'
            when 'f' then 'foreign table' else 'table' end, :schema, t, d)
    else format('comment on column %I.%I.%I is %L', :schema, t, c, d) end
from found
where present is distinct from d
order by t, c nulls first
""")


def pending(conn: Connection, *, schema: str) -> list[str]:
    """The COMMENT statements that would bring `schema` in line with the dictionary."""
    rows = [
        {"t": table, "c": column, "d": description}
        for table, columns in described().items()
        for column, description in columns.items()
    ]
    params = {"wanted": json.dumps(rows), "schema": parse_schema(schema)}
    return list(conn.execute(_PENDING, params).scalars())


def apply(conn: Connection, *, schema: str) -> int:
    """Write the comments that differ, inside the caller's transaction; how many it wrote.

    A role that does not own the tables (a sync running with fewer rights than the one that
    migrated) cannot comment on them: that is logged and the sync goes on.
    """
    if not pending(conn, schema=schema):
        return 0
    # Serialised with migrations and with another process doing the same (env.py's key);
    # whoever waited sees the other's comments and writes only what is still missing.
    conn.execute(text("select pg_advisory_xact_lock(hashtext(:key))"), {"key": schema})
    statements = pending(conn, schema=schema)
    if not statements:
        return 0
    try:
        with conn.begin_nested():
            _run_script(conn, ";\n".join(statements))
    except psycopg.Error as exc:  # raw: the script runs on the driver's own cursor
        if exc.sqlstate != INSUFFICIENT_PRIVILEGE:
            raise
        log.warning(
            "the data dictionary's comments in schema %s are out of date: this database role "
            "does not own its tables (run `pelcro-sync migrate` as their owner)",
            schema,
        )
        return 0
    return len(statements)


def _run_script(conn: Connection, script: str) -> None:
    # One round trip: psycopg runs several statements when given no parameters (and, given
    # none, leaves the `%` of a text alone, which SQLAlchemy's own execute would not).
    cursor = conn.connection.cursor()
    try:
        cursor.execute(script)
    finally:
        cursor.close()


def apply_to(url: str, *, schema: str) -> int:
    """`apply` in a transaction of its own, on the warehouse at `url`."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as conn:
            return apply(conn, schema=schema)
    finally:
        engine.dispose()
