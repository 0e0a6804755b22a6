"""What each `pelcro-sync` command does, apart from its argument parsing (cli.py)."""

import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from pelcro_sync.api.client import PelcroClient
from pelcro_sync.cli import scan_status, webhook_check
from pelcro_sync.cli.progress import SyncProgress, summary_table
from pelcro_sync.config import Settings
from pelcro_sync.entities import BY_NAME, Entity
from pelcro_sync.errors import PelcroSyncError
from pelcro_sync.pipeline import timebox
from pelcro_sync.pipeline.reconcile import DeletePolicy
from pelcro_sync.pipeline.runner import explain, plan, resolve_sites, run_tasks
from pelcro_sync.redact import redact
from pelcro_sync.warehouse import scans
from pelcro_sync.warehouse.engine import describe, resolve_database_url
from pelcro_sync.warehouse.status import last_runs
from pelcro_sync.warehouse.warehouse import open_warehouse

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEV_INSTANCE = PROJECT_ROOT / "deploy" / "dagster-dev.yaml"


def check(settings: Settings, *, console: Console) -> None:
    """Print the account, its sites, its rate limit, the credentials kind and the warehouse."""
    settings.require_credential()
    with PelcroClient(settings) as client:
        account = client.account()
        limit = client.rate_limit()
    table = Table(title="Pelcro account", show_header=False, title_justify="left")
    table.add_row("account", f"{account.get('company')} (id {account.get('id')})")
    table.add_row("API", settings.base_url)
    table.add_row("credentials", settings.credential_kind)
    table.add_row("rate limit", _rate_limit_line(account, settings, limit))
    for site in account.get("sites", []):
        chosen = not settings.site_ids or site.get("id") in settings.site_ids
        mark = "synced" if chosen else "not in PELCRO_SITE_ID"
        table.add_row("site", f"{site.get('id')}  {site.get('name')}  {site.get('url')}  ({mark})")
    missing = [
        s for s in settings.site_ids if s not in {x.get("id") for x in account.get("sites", [])}
    ]
    url = resolve_database_url(settings)
    table.add_row("warehouse", f"{describe(url)}  schema {settings.schema}")
    console.print(table)
    sites = settings.site_ids or [s.get("id") for s in account.get("sites", [])]
    with PelcroClient(settings) as client:  # the account is cached: no second GET /account
        webhook_check.report(
            client, entities=list(BY_NAME), site_id=next(iter(sites), None), console=console
        )
    if missing:
        raise PelcroSyncError(
            f"PELCRO_SITE_ID names site {missing[0]}, which is not a site of this account"
        )


def _rate_limit_line(account: dict, settings: Settings, limit: int) -> str:
    source = "PELCRO_RATE_LIMIT" if settings.rate_limit else "the account's api_core_rate_limit"
    said = account.get("api_core_rate_limit")
    return f"{limit} requests/minute (from {source}; the account says {said})"


def migrate(settings: Settings, *, console: Console) -> None:
    with open_warehouse(settings) as warehouse:
        where = warehouse.where
        applied = warehouse.applied
    if applied:
        console.print(f"migrated {where}: applied {', '.join(applied)}")
    else:
        console.print(f"{where} is already at the latest migration")


def sync(
    settings: Settings,
    *,
    entities: Sequence[Entity],
    sites: Sequence[int],
    full: bool,
    workers: int,
    console: Console,
    max_delete_share: float | None = None,
    lock_wait_s: float = 0.0,
    verbose: bool = False,
    time_limit: timedelta | None = None,
) -> None:
    """Sync with live progress and a summary table; raise a one-line error if any failed.
    `time_limit`: full scans stop then and resume next run (`pipeline.timebox`)."""
    settings.require_credential()
    policy = DeletePolicy.from_env(max_delete_share)
    deadline = timebox.Deadline.after(time_limit) if time_limit else None
    with open_warehouse(settings) as warehouse:
        with PelcroClient(settings) as client:
            site_ids = resolve_sites(client, sites or settings.site_ids)
        tasks = plan(entities, site_ids)
        if deadline is not None:  # unfinished and least recently scanned first
            with warehouse.connect() as conn:
                tasks = timebox.fair_order(tasks, scans.all_states(conn, warehouse=warehouse))
        with SyncProgress(console) as progress:
            results, failures = run_tasks(
                settings,
                tasks,
                warehouse=warehouse,
                full=full,
                workers=workers,
                on_start=progress.start,
                on_page=progress.page,
                delete_policy=policy,
                lock_wait_s=lock_wait_s,
                deadline=deadline,
            )
    console.print(summary_table(results, failures, verbose=verbose))
    for line in timebox.report(results, deadline):
        console.print(line, soft_wrap=True, highlight=False)
    if failures:
        task, exc = failures[0]
        message = explain(exc, database_url=warehouse.url)
        more = f" (and {len(failures) - 1} more failed)" if len(failures) > 1 else ""
        raise PelcroSyncError(f"{task.entity.name} on site {task.site_id}: {message}{more}")


def status(settings: Settings, *, console: Console) -> None:
    # Read-only: a warehouse never migrated says so below rather than being migrated here.
    with open_warehouse(settings, migrated=False) as warehouse, warehouse.connect() as conn:
        rows = last_runs(conn, warehouse=warehouse)
    if not rows:
        console.print("no sync has run yet: try `pelcro-sync sync`")
        return
    table = Table(title=f"Sync status ({describe(warehouse.url)}, schema {warehouse.schema})")
    columns = (
        "site",
        "entity",
        "rows",
        "deleted",
        "last success",
        *scan_status.COLUMNS,
        "last run",
        "last error",
    )
    for col in columns:
        table.add_column(col, justify="right" if col in ("site", "rows", "deleted") else "left")
    for row in rows:
        table.add_row(
            str(row.site_id),
            row.entity,
            f"{row.rows:,}",
            f"{row.deleted_rows:,}",
            _when(row.last_success_at),
            *scan_status.cells(row),
            f"{row.last_run_status or '-'} {_when(row.last_run_at)}",
            redact(row.last_error or ""),
        )
    console.print(table)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "never"


def serve_sandbox(
    *,
    port: int,
    customers: int,
    seed: int,
    rate_limit: int | None,
    latency: float,
    fault_rate: float,
    console: Console,
) -> None:
    from pelcro_sandbox import SandboxConfig, serve_forever

    config = SandboxConfig(seed=seed, customers=customers, rate_limit=rate_limit, latency=latency)
    if fault_rate:
        config = config.with_fault_rate(fault_rate)
    serve_forever(config, port=port, announce=lambda text: console.print(text, soft_wrap=True))


def exchange(settings: Settings, code: str, *, console: Console, notes: Console) -> None:
    from pelcro_sync.api.oauth import exchange_code

    token = exchange_code(settings, code)
    until = datetime.fromtimestamp(token.expires_at, UTC)
    notes.print(
        f"access token valid for {token.expires_in // 3600} hours "
        f"(until {until:%Y-%m-%d %H:%M} UTC); set it as PELCRO_ACCESS_TOKEN. "
        "It is printed once, here, and stored nowhere."
    )
    console.print(f"PELCRO_ACCESS_TOKEN={token.access_token.reveal()}", soft_wrap=True)


def dagster_dev(*, port: int) -> None:
    """Run `dagster dev` on this project with a DAGSTER_HOME of its own."""
    # DAGSTER_HOME is Dagster's own variable, not a pelcro-sync setting (config.py validates
    # ours): honoured when set, else a folder of this project, and passed on to the child.
    home = Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT / ".dagster_home")
    prepare_dev_home(home)
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    dagster = Path(sys.executable).with_name("dagster")
    cmd = [str(dagster), "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-p", str(port)]
    raise SystemExit(subprocess.call(cmd, env=env, cwd=PROJECT_ROOT))


def prepare_dev_home(home: Path) -> Path:
    """`home/dagster.yaml`, written from deploy/dagster-dev.yaml (which routes `pelcro_sync`'s
    logs into the event log) when missing or empty; a file of the user's own is kept."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.is_file() or not config.read_text().strip():
        config.write_text(DEV_INSTANCE.read_text())
    return config
