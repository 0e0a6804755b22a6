"""`make bench`'s headline workload, at a tiny size: the real console script in its own process
against a sandbox process and fresh databases, every figure of its table present and sane."""

import pytest

from bench import workload
from bench.workload import DEFAULT, NAMES
from pelcro_sandbox.config import SandboxConfig
from pelcro_sandbox.sandbox import MAIN_ACCOUNT, Sandbox

# Eight short processes against a sandbox process: minutes on a busy 2-core machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def report(pg_server_url: str) -> dict:
    """One run of 300 customers, no dlt (it lives in the bench group), a two-point curve
    (one worker and the CLI's default, with 20 ms of latency)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("DATABASE_URL", pg_server_url)  # where bench.common makes its throwaway databases
    try:
        return workload.main(
            ["--customers", "300", "--runs", "1", "--peer-sizes", "0",
             "--curve-customers", "300", "--latencies", "0.02", "--workers", "1", DEFAULT]
        )  # fmt: skip
    finally:
        mp.undo()


def test_first_load_writes_every_record_of_both_sites(report: dict) -> None:
    (row,) = report["headline"]
    sandbox = Sandbox(SandboxConfig(customers=300))
    data = sandbox.datasets[MAIN_ACCOUNT]
    assert row["records"] == sum(data.count(n, s) for n in NAMES for s in sandbox.site_ids)
    assert row["first_s"] > 0 and row["rate"] == pytest.approx(row["records"] / row["first_s"])
    assert row["copy_rate"] > 0 and row["to_copy"] > 0


def test_unchanged_full_resync_writes_nothing(report: dict) -> None:
    (row,) = report["headline"]
    assert row["resync_written"] == 0
    assert row["resync_s"] > 0 and row["resync_to_first"] > 0


def test_peak_rss_is_the_sync_process_not_the_bench(report: dict) -> None:
    (row,) = report["headline"]
    # A process that imported pandas and SQLAlchemy holds more than 40 MiB: a smaller figure
    # would mean the sampler missed it; the upper bound catches a unit mix-up (bytes, KiB).
    assert 40 < row["rss"] < 2048
    assert 40 < row["resync_rss"] < 2048


def test_curve_has_every_latency_and_worker_point(report: dict) -> None:
    points = {(p["latency"], p["workers"]) for p in report["curve"]}
    default = report["default_workers"]
    expected = {(0.02, "1"), (0.02, DEFAULT)} if default != "1" else {(0.02, DEFAULT)}
    assert points == expected
    assert all(p["time_s"] > 0 and p["rss"] > 40 for p in report["curve"])
