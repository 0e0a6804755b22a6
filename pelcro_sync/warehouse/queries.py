"""Read-only queries behind Dagster's metadata, checks and freshness, and the demo's examples.

Identifiers come from the entity registry and a validated schema name, never from input.
"""

from dataclasses import dataclass
from typing import Any

from psycopg import sql
from sqlalchemy import Connection

from pelcro_sync.entities import Entity
from pelcro_sync.warehouse import sql as q
from pelcro_sync.warehouse.schema import SYNC_STATE
from pelcro_sync.warehouse.warehouse import Warehouse

# Text columns that hold personal data: kept out of the preview in the Dagster event log.
PII_FIELDS = frozenset(
    [
        "email",
        "first_name",
        "last_name",
        "name",
        "display_name",
        "username",
        "phone",
        "tin",
        "line1",
        "line2",
        "postal_code",
        "invitation_email",
        "gift_code",
    ]
)
PREVIEW_ROWS = 5
PREVIEW_COLUMNS = 6


def live_rows(conn: Connection, *, warehouse: Warehouse, entity: Entity, site_id: int) -> int:
    """Rows of one site not marked deleted."""
    query = sql.SQL("SELECT count(*) FROM {} WHERE site_id = %s AND _deleted_at IS NULL")
    return int(q.scalar(conn, query.format(warehouse.table(entity.name)), (site_id,)))


def preview_columns(entity: Entity) -> list[str]:
    """A few scalar, non-personal columns: enough to recognise the data."""
    scalar = [f.name for f in entity.fields if f.kind != "json" and f.name not in PII_FIELDS]
    return ["id", *scalar[: PREVIEW_COLUMNS - 1]]


def preview_rows(
    conn: Connection, *, warehouse: Warehouse, entity: Entity, site_id: int
) -> list[tuple[Any, ...]]:
    """The site's newest rows, in `preview_columns` order."""
    query = sql.SQL("SELECT {} FROM {} WHERE site_id = %s ORDER BY id DESC LIMIT {}").format(
        sql.SQL(", ").join(map(sql.Identifier, preview_columns(entity))),
        warehouse.table(entity.name),
        sql.Literal(PREVIEW_ROWS),
    )
    return q.rows(conn, query, (site_id,))


def duplicate_keys(conn: Connection, *, warehouse: Warehouse, entity: Entity) -> dict[int, int]:
    """site_id -> (site_id, id) pairs held by more than one row, for every site that has any
    (none unless the primary key is gone)."""
    query = sql.SQL(
        "SELECT site_id, count(*) FROM (SELECT site_id FROM {} GROUP BY site_id, id"
        " HAVING count(*) > 1) d GROUP BY site_id ORDER BY site_id"
    ).format(warehouse.table(entity.name))
    return {int(s): int(n) for s, n in q.rows(conn, query)}


def unresolved_references(
    conn: Connection, *, warehouse: Warehouse, entity: Entity, column: str, target: Entity
) -> dict[int, int]:
    """site_id -> live rows whose `column` names an id absent from `target` on the same site,
    for every site that has any."""
    query = sql.SQL(
        "SELECT c.site_id, count(*) FROM {table} c WHERE c._deleted_at IS NULL"
        " AND c.{column} IS NOT NULL AND NOT EXISTS ("
        "SELECT 1 FROM {target} p WHERE p.site_id = c.site_id AND p.id = c.{column})"
        " GROUP BY c.site_id ORDER BY c.site_id"
    ).format(
        table=warehouse.table(entity.name),
        column=sql.Identifier(column),
        target=warehouse.table(target.name),
    )
    return {int(s): int(n) for s, n in q.rows(conn, query)}


def live_rows_by_site(conn: Connection, *, warehouse: Warehouse, entity: Entity) -> dict[int, int]:
    """site_id -> rows not marked deleted, for every site that has any."""
    query = sql.SQL(
        "SELECT site_id, count(*) FROM {} WHERE _deleted_at IS NULL GROUP BY site_id"
    ).format(warehouse.table(entity.name))
    return {int(s): int(n) for s, n in q.rows(conn, query)}


def scanned_sites(
    conn: Connection, *, warehouse: Warehouse, entity: Entity
) -> dict[int, int | None]:
    """site_id -> API `meta.total` at the last complete scan, for every site synced so far."""
    query = sql.SQL(
        "SELECT site_id, last_complete_scan_total FROM {} WHERE entity = %s ORDER BY site_id"
    ).format(warehouse.table(SYNC_STATE))
    return {int(s): t for s, t in q.rows(conn, query, (entity.name,))}


def changed_since_scan(
    conn: Connection, *, warehouse: Warehouse, entity: Entity, site_id: int
) -> bool:
    """Whether rows of the site changed after its last complete scan (a fast run, a webhook):
    then the API's total at that scan is no longer an exact expectation."""
    query = sql.SQL(
        "SELECT EXISTS (SELECT 1 FROM {table} t WHERE t.site_id = %(s)s AND t._synced_at > ("
        "SELECT last_complete_scan_at FROM {state} WHERE site_id = %(s)s AND entity = %(e)s))"
    ).format(table=warehouse.table(entity.name), state=warehouse.table(SYNC_STATE))
    return bool(q.scalar(conn, query, {"s": site_id, "e": entity.name}))


@dataclass(frozen=True)
class Example:
    """One of the demo's example queries and what it returned."""

    title: str
    text: str  # the statement as run, for the reader to copy
    columns: list[str]
    rows: list[tuple[Any, ...]]


EXAMPLES = (
    (
        "Active subscriptions per plan",
        """SELECT p.nickname AS plan, count(*) AS active
             FROM {s}.subscriptions s
             JOIN {s}.plans p ON p.site_id = s.site_id AND p.id = s.plan
            WHERE s.status = 'active' AND s._deleted_at IS NULL
            GROUP BY 1 ORDER BY 2 DESC LIMIT 5""",
    ),
    (
        "Revenue paid by currency (minor units)",
        """SELECT currency, sum(amount_paid) AS paid, count(*) AS invoices
             FROM {s}.invoices WHERE status = 'paid' GROUP BY 1 ORDER BY 2 DESC""",
    ),
    (
        "Newest customers with their CRM id from metadata",
        """SELECT site_id, id, email, metadata->>'crm_id' AS crm_id, created_at
             FROM {s}.customers WHERE _deleted_at IS NULL
            ORDER BY created_at DESC NULLS LAST LIMIT 5""",
    ),
)


# The demo's last word, from the marts: MRR by month of the last year.
MRR_BY_MONTH = """SELECT month, currency, round(sum(mrr)) AS mrr,
                  count(DISTINCT customer_id) AS customers
             FROM {m}.mrr_monthly WHERE month > (now() - interval '12 months')
            GROUP BY 1, 2 ORDER BY 1, 2"""


def examples(conn: Connection, *, warehouse: Warehouse) -> list[Example]:
    """The demo's example queries over the synced tables, run."""
    return [
        _example(conn, title, template, s=sql.Identifier(warehouse.schema))
        for title, template in EXAMPLES
    ]


def mrr_by_month(conn: Connection, *, marts_schema: str) -> Example:
    """MRR by month and currency of the last year, from the built marts."""
    title = "MRR by month (minor units, last 12 months)"
    return _example(conn, title, MRR_BY_MONTH, m=sql.Identifier(marts_schema))


def _example(conn: Connection, title: str, template: str, **names: sql.Identifier) -> Example:
    query = sql.SQL(" ".join(template.split())).format(**names)
    with q.driver(conn).cursor() as cur:
        found = cur.execute(query).fetchall()
        columns = [d.name for d in cur.description or ()]
        text = query.as_string(cur)
    return Example(title, text, columns, found)
