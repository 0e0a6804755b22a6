"""`pelcro-sync demo`: the whole pipeline on a machine with nothing configured."""

from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from pelcro_sync.cli.progress import SyncProgress, summary_table
from pelcro_sync.config import Secret, Settings
from pelcro_sync.entities import ENTITIES
from pelcro_sync.pipeline.runner import open_warehouse, plan, run_tasks
from pelcro_sync.warehouse.embedded import embedded_url

DEMO_SEED = 7  # the sandbox command's default too, so its key matches the demo's

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
    from pelcro_sandbox import Sandbox, SandboxConfig, serve

    console.print("[bold]pelcro-sync demo[/]: sandbox Pelcro API → pelcro-sync → embedded Postgres")
    database_url = embedded_url()
    sandbox = Sandbox(SandboxConfig(seed=DEMO_SEED, customers=customers))
    with serve(sandbox, port=0) as running:
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
    _show_marts(settings, engine=warehouse.engine, console=console)
    _next_steps(console, database_url=database_url, customers=customers, api_key=running.api_key)


def _next_steps(console: Console, *, database_url: str, customers: int, api_key: str) -> None:
    """The same data in the Dagster UI: the sandbox is deterministic, so its key is known."""
    port = 8765
    console.print(
        "\n[bold]Next:[/] the data stays in the embedded Postgres at\n"
        f"  {database_url}\n"
        "To open the Dagster UI on it, serve the same sandbox in one terminal:\n"
        f"  .venv/bin/pelcro-sync sandbox --port {port} --customers {customers} "
        f"--seed {DEMO_SEED}\n"
        "and in another (its sandbox key, not a real secret):\n"
        f"  PELCRO_BASE_URL=http://127.0.0.1:{port}/api/v1/core PELCRO_API_KEY={api_key} "
        "make dev\n"
        "then open http://127.0.0.1:3000, materialize the pelcro assets, and look at their "
        "checks and the schedule.",
        soft_wrap=True,
        highlight=False,
    )


def _show_examples(engine, *, schema: str, console: Console) -> None:
    for title, sql in EXAMPLE_QUERIES:
        _print_query(engine, title, sql.format(s=f'"{schema}"'), console=console)


def _print_query(engine, title: str, query: str, *, console: Console) -> None:
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


def _show_marts(settings: Settings, *, engine, console: Console) -> None:
    """Build the analytics marts (dbt) and show MRR by month, the first question asked."""
    from pelcro_sync.cli.marts import build_marts
    from pelcro_sync.warehouse.marts import MRR_BY_MONTH, marts_schema

    console.print("\n[bold]Analytics marts[/] (dbt project analytics/, `pelcro-sync marts`)")
    build_marts(settings, console=console)
    _print_query(engine, "MRR by month (minor units, last 12 months)",
                 MRR_BY_MONTH.format(m=f'"{marts_schema()}"'), console=console)  # fmt: skip
