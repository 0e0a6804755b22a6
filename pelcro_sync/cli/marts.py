"""`pelcro-sync marts`: build the dbt project in analytics/ against the configured warehouse.

dbt runs in this process (dbtRunner). Its connection comes from environment variables set
for the build only (`warehouse.marts.dbt_env`), so the password is never written to a file;
dbt scrubs it from its own logs as a DBT_ENV_SECRET_ variable.
"""

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from pelcro_sync.config import Settings
from pelcro_sync.errors import ConfigError, PelcroSyncError
from pelcro_sync.redact import one_line
from pelcro_sync.warehouse.engine import resolve_database_url
from pelcro_sync.warehouse.marts import analytics_dir, dbt_env, environment
from pelcro_sync.warehouse.migrate import upgrade

FAILED = ("error", "fail")


class MartsError(PelcroSyncError):
    """A model or a test of the marts failed."""


@dataclass
class BuildReport:
    """What one `dbt build` did: models and tests by outcome, failures one line each."""

    models: int = 0
    tests: int = 0
    warnings: int = 0
    failures: list[str] = field(default_factory=list)
    duration_s: float = 0.0


def _on_event(report: BuildReport, line: Callable[[str], None]) -> Callable[[Any], None]:
    def callback(event: Any) -> None:
        if event.info.name != "NodeFinished":
            return
        node, result = event.data.node_info, event.data.run_result
        status = result.status.lower()
        kind = node.resource_type
        if status in FAILED:
            report.failures.append(f"{node.node_name}: {one_line(result.message, limit=300)}")
        if kind == "model":
            report.models += 1
            line(
                f"  {node.node_name:<34} {node.materialized:<6} {status:<7} "
                f"{result.execution_time:5.1f}s"
            )
        elif kind == "test":
            report.tests += 1
            report.warnings += status == "warn"
            if status != "pass":
                line(f"  test {node.node_name[:60]:<60} {status}")

    return callback


def run_dbt(
    command: list[str],
    url: str,
    *,
    schema: str,
    marts: str,
    target_path: Path,
    callbacks: list[Callable[[Any], None]] | None = None,
) -> Any:
    """Run one dbt command (e.g. ["build"], ["docs", "generate"]) on the project, in this
    process, connected to `url`; dbt's result (a dbtRunnerResult)."""
    from dbt.cli.main import dbtRunner  # heavy: imported only when building

    project = analytics_dir()
    args = [
        *command,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        "--target-path",
        str(target_path),
        "--log-path",
        str(target_path / "logs"),
        "--quiet",
        "--no-use-colors",
    ]
    with environment(dbt_env(url, schema=schema, marts=marts)):
        result = dbtRunner(callbacks=callbacks or []).invoke(args)
    if result.exception is not None:
        raise MartsError(f"dbt could not run: {one_line(str(result.exception), limit=400)}")
    return result


def run_build(
    url: str,
    *,
    schema: str,
    marts: str,
    line: Callable[[str], None],
    target_path: Path | None = None,
) -> BuildReport:
    """`dbt build` (models, then their tests) into schema `marts` from the tables in `schema`."""
    report = BuildReport()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pelcro-dbt-") as scratch:
        result = run_dbt(
            ["build"],
            url,
            schema=schema,
            marts=marts,
            target_path=target_path or Path(scratch) / "target",
            callbacks=[_on_event(report, line)],
        )
    report.duration_s = time.perf_counter() - started
    if report.failures or not result.success:
        first = report.failures[0] if report.failures else "dbt build failed"
        raise MartsError(f"{len(report.failures) or 1} marts step(s) failed; first: {first}")
    return report


def build_marts(settings: Settings, *, console: Console) -> BuildReport:
    """Migrate the warehouse, then build the marts; one line per model."""
    marts = settings.marts_schema
    if marts == settings.schema:
        raise ConfigError(
            f"PELCRO_MARTS_SCHEMA and PELCRO_SCHEMA are both {marts!r}: the marts need a schema "
            "of their own"
        )
    url = resolve_database_url(settings)
    upgrade(url, schema=settings.schema)
    console.print(f"building the marts in schema {marts} from {settings.schema}", highlight=False)
    report = run_build(
        url,
        schema=settings.schema,
        marts=marts,
        line=lambda text: console.print(text, highlight=False, markup=False),
    )
    console.print(
        f"marts built: {report.models} models, {report.tests} tests"
        f"{f' ({report.warnings} warnings)' if report.warnings else ''} "
        f"in {report.duration_s:.1f} s",
        highlight=False,
    )
    return report
