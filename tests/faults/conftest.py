"""Fault-suite fixtures (a migrated schema, a short rate-limit window) and its tally table."""

import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from pelcro_sandbox import ratelimit as sandbox_ratelimit
from pelcro_sync.warehouse import migrate
from tests.faults import tally

_STARTED: list[float] = []


@pytest.fixture
def schema(pg_url: str, pg_engine: Engine) -> Iterator[str]:
    """A migrated warehouse schema of this test's own."""
    name = f"f_{uuid.uuid4().hex[:8]}"
    migrate.upgrade(pg_url, schema=name)
    yield name
    with pg_engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def short_window(monkeypatch: pytest.MonkeyPatch) -> float:
    """The sandbox's rolling rate-limit window shrunk from 60 s to 2 s: storms end sooner."""
    monkeypatch.setattr(sandbox_ratelimit, "WINDOW", 2.0)
    return 2.0


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "tests/faults/" in report.nodeid and report.when == "call":
        tally.record(tests=1, tests_failed=int(report.failed))
        tally.COUNTS["seconds_x1000"] += int(report.duration * 1000)
        if not _STARTED:
            _STARTED.append(time.monotonic())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    counts = tally.COUNTS
    if not counts.get("tests"):
        return
    faults = sum(v for k, v in counts.items() if k.startswith("fault_"))
    kinds = ", ".join(f"{k[6:]} {v}" for k, v in sorted(counts.items()) if k.startswith("fault_"))
    rows = [
        ("fault tests run (failed)", f"{counts['tests']} ({counts['tests_failed']})"),
        ("faults injected", f"{faults} ({kinds or 'none'})"),
        ("429 answers survived", str(counts["throttled_429"])),
        ("SIGKILLs survived", str(counts["kills"])),
        ("database outages survived", str(counts["db_outages"])),
        ("bad inputs tried", str(counts["bad_inputs"])),
        ("rows compared with the truth", str(counts["rows_compared"])),
        ("rows lost", str(counts["rows_lost"])),
        ("time in fault tests", f"{counts['seconds_x1000'] / 1000:.1f} s"),
    ]
    width = max(len(k) for k, _ in rows)
    terminalreporter.section("fault tally")
    for key, value in rows:
        terminalreporter.write_line(f"{key:<{width}}  {value}")
