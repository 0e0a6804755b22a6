"""The example queries `pelcro-sync demo` shows, with what they return: SQL lives here."""

from collections.abc import Iterator

from sqlalchemy import Engine, Result, text

EXAMPLE_QUERIES = (
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


def run(engine: Engine, *, schema: str) -> Iterator[tuple[str, str, Result]]:
    """Each example's title, its SQL for `schema`, and its rows (read while iterating)."""
    for title, sql in EXAMPLE_QUERIES:
        query = sql.format(s=f'"{schema}"')
        with engine.connect() as conn:
            yield title, query, conn.execute(text(query))
