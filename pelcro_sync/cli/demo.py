"""`pelcro-sync demo`: the whole pipeline on a machine with nothing configured."""

from rich.console import Console
from rich.table import Table

from pelcro_sync.cli.progress import SyncProgress, summary_table
from pelcro_sync.config import Secret, Settings
from pelcro_sync.entities import ENTITIES
from pelcro_sync.pipeline.runner import plan, run_tasks
from pelcro_sync.warehouse import embedded, queries
from pelcro_sync.warehouse.warehouse import Warehouse, open_warehouse

DEMO_SEED = 7  # the sandbox command's default too, so its key matches the demo's


def run_demo(*, customers: int, console: Console, verbose: bool = False) -> None:
    """Start the sandbox and the embedded Postgres, sync everything, show what landed; then
    stop the embedded Postgres if the demo started it (its data stays on disk)."""
    was_running = embedded.is_running()
    try:
        _demo(customers=customers, console=console, verbose=verbose)
    finally:
        if not was_running and embedded.stop():
            console.print(
                f"\nStopped the embedded Postgres the demo started; its data stays in "
                f"{embedded.data_dir()}, and any pelcro-sync command (or `make dev`) starts it "
                "again.",
                soft_wrap=True,
                highlight=False,
            )


def _demo(*, customers: int, console: Console, verbose: bool) -> None:
    from pelcro_sandbox import Sandbox, SandboxConfig, serve

    console.print("[bold]pelcro-sync demo[/]: sandbox Pelcro API → pelcro-sync → embedded Postgres")
    database_url = embedded.embedded_url()
    sandbox = Sandbox(SandboxConfig(seed=DEMO_SEED, customers=customers))
    with serve(sandbox, port=0) as running:
        settings = Settings(
            api_key=Secret(running.api_key),
            base_url=running.base_url,
            oauth_url=running.oauth_url,
            database_url=database_url,
        )
        console.print(
            f"sandbox at {running.base_url}, sites {', '.join(map(str, running.site_ids))}"
        )
        tasks = plan(ENTITIES, running.site_ids)
        # Disposed on leaving the block: before the embedded server may stop.
        with open_warehouse(settings) as warehouse:
            with SyncProgress(console) as progress:
                results, failures = run_tasks(
                    settings,
                    tasks,
                    warehouse=warehouse,
                    workers=4,
                    on_start=progress.start,
                    on_page=progress.page,
                )
            console.print(summary_table(results, failures, verbose=verbose))
            if failures:
                raise failures[0][1]
            _show_examples(warehouse, console=console)
            _show_marts(settings, warehouse=warehouse, console=console)
    _next_steps(console, customers=customers, api_key=running.api_key)


def _next_steps(console: Console, *, customers: int, api_key: str) -> None:
    """The same data in the Dagster UI: the sandbox is deterministic, so its key is known."""
    port = 8765
    console.print(
        f"\n[bold]Next:[/] the data stays in the embedded Postgres ({embedded.data_dir()}).\n"
        "To see it in the Dagster UI, serve the same sandbox in one terminal:\n"
        f"  .venv/bin/pelcro-sync sandbox --port {port} --customers {customers} "
        f"--seed {DEMO_SEED}\n"
        "and in another (its sandbox key, not a real secret):\n"
        f"  PELCRO_BASE_URL=http://127.0.0.1:{port}/api/v1/core PELCRO_API_KEY={api_key} "
        "make dev\n"
        "then open http://127.0.0.1:3000: the sites sensor adds the sandbox's sites as "
        "partitions; materialize the pelcro assets and look at their checks. The schedules "
        "start stopped: turn them on under Automation.",
        soft_wrap=True,
        highlight=False,
    )


def _show_examples(warehouse: Warehouse, *, console: Console) -> None:
    with warehouse.connect() as conn:
        done = queries.examples(conn, warehouse=warehouse)
    for example in done:
        _print_example(example, console=console)


def _print_example(example: queries.Example, *, console: Console) -> None:
    table = Table(title=example.title, title_justify="left")
    for col in example.columns:
        table.add_column(col)
    for row in example.rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(f"[dim]{example.text}[/]", soft_wrap=True)
    console.print(table)


def _show_marts(settings: Settings, *, warehouse: Warehouse, console: Console) -> None:
    """Build the analytics marts (dbt) and show MRR by month, the first question asked."""
    from pelcro_sync.cli.marts import build_marts

    console.print("\n[bold]Analytics marts[/] (dbt project analytics/, `pelcro-sync marts`)")
    build_marts(settings, console=console)
    with warehouse.connect() as conn:
        mrr = queries.mrr_by_month(conn, marts_schema=settings.marts_schema)
    _print_example(mrr, console=console)
