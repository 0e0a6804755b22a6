"""`pelcro-sync demo`: the whole pipeline on a machine with nothing configured."""

from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from pelcro_sync.config import Secret, Settings
from pelcro_sync.entities import ENTITIES
from pelcro_sync.progress import SyncProgress, summary_table
from pelcro_sync.runner import open_warehouse, plan, run_tasks
from pelcro_sync.warehouse.embedded import embedded_url

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


def run_demo(*, customers: int, console: Console) -> None:
    """Start the sandbox and the embedded Postgres, sync everything, show what landed."""
    from pelcro_sync.sandbox import Sandbox, SandboxConfig

    console.print("[bold]pelcro-sync demo[/]: sandbox Pelcro API → pelcro-sync → embedded Postgres")
    database_url = embedded_url()
    sandbox = Sandbox(SandboxConfig(customers=customers))
    with sandbox.serve(port=0) as running:
        settings = Settings(
            api_key=Secret(running.api_key),
            base_url=running.base_url,
            oauth_url=running.oauth_url,
            database_url=database_url,
        )
        warehouse = open_warehouse(settings)
        console.print(
            f"sandbox at {running.base_url}, sites {', '.join(map(str, running.site_ids))}"
        )
        tasks = plan(ENTITIES, running.site_ids)
        with SyncProgress(console) as progress:
            results, failures = run_tasks(
                settings,
                tasks,
                warehouse=warehouse,
                workers=4,
                on_start=progress.start,
                on_page=progress.page,
            )
    console.print(summary_table(results, failures))
    if failures:
        raise failures[0][1]
    _show_examples(warehouse.engine, schema=settings.schema, console=console)
    console.print(
        "\n[bold]Next:[/] the data is in the embedded Postgres at\n"
        f"  {database_url}\n"
        'Query it with any client (psql "$URL" with the +psycopg removed), or open the '
        "Dagster UI on it:\n"
        "  .venv/bin/pelcro-sync sandbox            # terminal 1: prints a key and a base URL\n"
        "  PELCRO_BASE_URL=… PELCRO_API_KEY=… make dev   # terminal 2, then http://127.0.0.1:3000",
        soft_wrap=True,
    )


def _show_examples(engine, *, schema: str, console: Console) -> None:
    for title, sql in EXAMPLE_QUERIES:
        query = sql.format(s=f'"{schema}"')
        with engine.connect() as conn:
            result = conn.execute(text(query))
            table = Table(title=title, title_justify="left")
            columns = list(result.keys())
            for col in columns:
                table.add_column(col)
            for row in result:
                table.add_row(*("" if v is None else str(v) for v in row))
        console.print(f"[dim]{' '.join(query.split())}[/]", soft_wrap=True)
        console.print(table)
