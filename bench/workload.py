"""The workload users run: `pelcro-sync sync` of all 18 entities of two sites, as its own process.

python -m bench.workload                       # 20,000 and 100,000 customers, medians of 3
python -m bench.workload --quick               # smoke run: 2,000 customers, 1 run, short curve
python -m bench.workload --customers 20000 --runs 5 --skip-curve

Per size, one sandbox process (`SandboxConfig(page_cache=True)`, warmed by one read of every
page, so the API is not the bottleneck on these shared cores) and per run a fresh database,
migrated beforehand (untimed; `migrate` is timed on its own row). Measured, each as the
real console script in a process of its own, wall time from spawn to exit: the first load
(`pelcro-sync sync`), then an unchanged `pelcro-sync sync --full`. Side by side: a plain
binary COPY of the rows the first load wrote (bench.e2e.plain_copy: COPY time only, the
practical ceiling) and the dlt `rest_api` peer on the same endpoints, also as its own
process (`python -m bench.peer`). Peak RSS: the process and its descendants, sampled every
50 ms (bench.proctree); the sandbox's memory is not counted.

Then the curve: workers x sandbox latency (set through the sandbox's admin API), time and
peak RSS of the same first load on a smaller size.
"""

import argparse
import json
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg import sql

from bench.common import RemoteSandbox, libpq, median, sandbox_process, throwaway_database, warm
from bench.e2e import SCHEMA, plain_copy
from bench.proctree import Measured, run_measured
from pelcro_sandbox.config import SandboxConfig
from pelcro_sync.entities import ENTITIES

NAMES = [e.name for e in ENTITIES]
ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).with_name("pelcro-sync")
DEFAULT = "default"  # the CLI's own choice: no --workers flag


def cli_default_workers() -> str:
    """What `pelcro-sync sync` uses when --workers is not given, as the CLI declares it."""
    from pelcro_sync.cli.main import sync

    return str(next(p.default for p in sync.params if p.name == "workers"))


def child_env(sb: RemoteSandbox, url: str) -> dict[str, str]:
    """This environment without any Pelcro or warehouse setting of ours, plus the sandbox's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PELCRO_", "DATABASE_URL"))}
    env.update(PELCRO_BASE_URL=sb.base_url, PELCRO_API_KEY=sb.api_key, DATABASE_URL=url)
    env["PYTHONPATH"] = str(ROOT)  # for `python -m bench.peer`
    return env


def run_cli(sb: RemoteSandbox, url: str, *args: str, cwd: str) -> Measured:
    """`pelcro-sync ARGS` against the sandbox and `url`; raises on a non-zero exit."""
    # cwd: an empty directory, so no .env of the checkout's leaks into the measured process.
    m = run_measured([str(CLI), *args], env=child_env(sb, url), cwd=cwd)
    if m.returncode != 0:
        tail = (m.stderr or m.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"pelcro-sync {' '.join(args)} exited {m.returncode}: {tail}")
    return m


def sync_args(workers: str, *extra: str) -> list[str]:
    return ["sync", *extra] + ([] if workers == DEFAULT else ["--workers", workers])


def rows_in(url: str) -> int:
    """Rows in the entity tables: the records the first load wrote."""
    with psycopg.connect(libpq(url)) as c:
        return sum(
            c.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(SCHEMA, n))
            ).fetchone()[0]  # type: ignore[index]
            for n in NAMES
        )


def db_now(url: str) -> Any:
    with psycopg.connect(libpq(url)) as c:
        return c.execute("SELECT clock_timestamp()").fetchone()[0]  # type: ignore[index]


def written_since(url: str, since: Any) -> int:
    """Entity rows whose `_synced_at` moved since `since`, plus history versions opened or
    closed since (when the schema has history tables)."""
    with psycopg.connect(libpq(url)) as c:
        tables = {
            r[0]
            for r in c.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (SCHEMA,),
            )
        }
        total = 0
        for name in NAMES:
            queries = [(name, "_synced_at >= %(t)s")]
            if f"{name}_history" in tables:
                queries.append((f"{name}_history", "_valid_from >= %(t)s OR _valid_to >= %(t)s"))
            for table, where in queries:
                q = sql.SQL("SELECT count(*) FROM {} WHERE ").format(sql.Identifier(SCHEMA, table))
                total += c.execute(q + sql.SQL(where), {"t": since}).fetchone()[0]  # type: ignore[index]
        return total


def warm_all(sb: RemoteSandbox) -> None:
    """Every page of every entity of every site read once, so the page cache holds them."""
    with ThreadPoolExecutor(len(sb.site_ids)) as pool:
        list(pool.map(lambda site: warm(sb, site, NAMES), sb.site_ids))


def set_latency(sb: RemoteSandbox, seconds: float) -> None:
    httpx.post(f"{sb.admin_url}/latency", json={"latency": seconds}, timeout=10).raise_for_status()


def one_run(sb: RemoteSandbox, *, workers: str, resync: bool, tmp: str) -> dict[str, Any]:
    """First load, unchanged `sync --full`, plain COPY of the same rows: one fresh database."""
    out: dict[str, Any] = {}
    with throwaway_database() as url:
        out["migrate_s"] = run_cli(sb, url, "migrate", cwd=tmp).elapsed
        first = run_cli(sb, url, *sync_args(workers), cwd=tmp)
        out.update(first_s=first.elapsed, rss=first.peak_rss_mb, records=rows_in(url))
        out["rate"] = out["records"] / first.elapsed
        if resync:
            since = db_now(url)
            again = run_cli(sb, url, *sync_args(workers, "--full"), cwd=tmp)
            out.update(resync_s=again.elapsed, resync_rss=again.peak_rss_mb,
                       resync_written=written_since(url, since))  # fmt: skip
            out["resync_to_first"] = again.elapsed / first.elapsed
        copy_rows, copy_s = plain_copy(url, NAMES)
        out["copy_rate"] = copy_rows / copy_s
        out["to_copy"] = out["rate"] / out["copy_rate"]
    return out


def peer_run(sb: RemoteSandbox, *, tmp: str) -> dict[str, Any]:
    """The dlt peer, all entities of every site, as its own process, into a fresh database."""
    with throwaway_database() as url:
        sites = ",".join(str(s) for s in sb.site_ids)
        cmd = [sys.executable, "-m", "bench.peer", "--sites", sites]
        m = run_measured(cmd, env=child_env(sb, url), cwd=tmp)
    if m.returncode != 0:
        raise RuntimeError(f"dlt peer exited {m.returncode}: {m.stderr.strip()[-500:]}")
    out = json.loads(m.stdout.strip().splitlines()[-1])
    return {"rate": out["records"] / m.elapsed, "records": out["records"], "rss": m.peak_rss_mb}


def headline(customers: int, *, runs: int, peer: bool, resync: bool, tmp: str
             ) -> dict[str, Any]:  # fmt: skip
    """Medians over `runs` of one size; ratios taken run by run, then their median."""
    cfg = SandboxConfig(customers=customers, rate_limit=None, latency=0.0, page_cache=True)
    ours, theirs = [], []
    with sandbox_process(cfg) as sb:
        warm_all(sb)
        for _ in range(runs):
            ours.append(one_run(sb, workers=DEFAULT, resync=resync, tmp=tmp))
            if peer:
                theirs.append(peer_run(sb, tmp=tmp))
    row: dict[str, Any] = {"customers": customers, "records": ours[0]["records"], "runs": runs}
    for key in set(ours[0]) - {"records", "resync_written"}:
        row[key] = median([r[key] for r in ours])
    if resync:
        row["resync_written"] = max(r["resync_written"] for r in ours)
    if theirs:
        row["dlt_rate"] = median([t["rate"] for t in theirs])
        row["dlt_rss"] = median([t["rss"] for t in theirs])
        row["dlt_records"] = theirs[0]["records"]
        row["to_dlt"] = median([o["rate"] / t["rate"] for o, t in zip(ours, theirs, strict=True)])
    return row


def curve(customers: int, *, latencies: Sequence[float], workers: Sequence[str], runs: int,
          tmp: str) -> list[dict[str, Any]]:  # fmt: skip
    """Time and peak RSS of the first load for each latency x worker count (medians)."""
    cfg = SandboxConfig(customers=customers, rate_limit=None, latency=0.0, page_cache=True)
    rows = []
    with sandbox_process(cfg) as sb:
        warm_all(sb)
        for latency in latencies:
            set_latency(sb, latency)
            for w in workers:
                times, rss = [], []
                for _ in range(runs):
                    with throwaway_database() as url:
                        run_cli(sb, url, "migrate", cwd=tmp)
                        m = run_cli(sb, url, *sync_args(w), cwd=tmp)
                    times.append(m.elapsed)
                    rss.append(m.peak_rss_mb)
                rows.append({"latency": latency, "workers": w, "time_s": median(times),
                             "rss": median(rss)})  # fmt: skip
    return rows


def print_headline(rows: list[dict[str, Any]]) -> None:
    def fmt(key: str, spec: str) -> list[str]:
        return [format(r[key], spec) if key in r else "-" for r in rows]

    lines = [
        ("records written", "", fmt("records", ",")),
        ("first load (s), process start included", "", fmt("first_s", ".1f")),
        ("records/s, ours", "", fmt("rate", ",.0f")),
        ("records/s, plain COPY of the same rows", "", fmt("copy_rate", ",.0f")),
        ("ours / plain COPY", ">= 0.5", fmt("to_copy", ".2f")),
        ("records/s, dlt rest_api (same entities and sites)", "", fmt("dlt_rate", ",.0f")),
        ("ours / dlt", ">= 5", fmt("to_dlt", ".2f")),
        ("peak RSS, process tree (MiB)", "<= 512", fmt("rss", ",.0f")),
        ("peak RSS, dlt process tree (MiB)", "", fmt("dlt_rss", ",.0f")),
        ("unchanged sync --full (s)", "", fmt("resync_s", ".1f")),
        ("  / first load", "<= 0.5", fmt("resync_to_first", ".2f")),
        ("  rows written (history included)", "0", fmt("resync_written", ",")),
        ("  peak RSS (MiB)", "<= 512", fmt("resync_rss", ",.0f")),
        ("migrate a fresh database (s)", "", fmt("migrate_s", ".1f")),
    ]
    if len(rows) >= 2:
        growth = rows[-1]["rss"] / rows[0]["rss"]
        lines.append(("peak RSS, largest / smallest size", "<= 1.2", ["", f"{growth:.2f}"]))
    heads = [f"{r['customers']:,} cust., {r['runs']} run{'s' * (r['runs'] > 1)}" for r in rows]
    width = max(len(a) for a, _, _ in lines)
    print(f"{'figure (medians)':<{width}}  {'target':<8}" + "".join(f"{h:>20}" for h in heads))
    for label, target, cells in lines:
        print(f"{label:<{width}}  {target:<8}" + "".join(f"{c:>20}" for c in cells))


def print_curve(rows: list[dict[str, Any]], *, default: str) -> None:
    print(f"{'latency (s)':>11}  {'workers':<12}{'time (s)':>10}{'peak RSS (MiB)':>16}"
          f"{'time / 1 worker':>17}{'RSS / 1 worker':>16}")  # fmt: skip
    for r in rows:
        one = next((o for o in rows if o["latency"] == r["latency"] and o["workers"] == "1"), None)
        label = f"default ({default})" if r["workers"] == DEFAULT else r["workers"]
        t = f"{r['time_s'] / one['time_s']:.2f}" if one else "-"
        m = f"{r['rss'] / one['rss']:.2f}" if one else "-"
        print(f"{r['latency']:>11g}  {label:<12}{r['time_s']:>10.1f}{r['rss']:>16,.0f}"
              f"{t:>17}{m:>16}")  # fmt: skip


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.workload", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--customers", type=int, nargs="+", default=[20_000, 100_000])
    p.add_argument("--runs", type=int, nargs="+", default=[3],
                   help="runs per figure (medians): one count, or one per size")  # fmt: skip
    p.add_argument("--peer-sizes", type=int, default=1,
                   help="run the dlt peer at the first N sizes (0: none)")  # fmt: skip
    p.add_argument("--resync-sizes", type=int, default=None,
                   help="unchanged sync --full at the first N sizes (default: all)")  # fmt: skip
    p.add_argument("--curve-customers", type=int, default=5_000)
    p.add_argument("--curve-runs", type=int, default=None, help="default: --runs")
    p.add_argument("--latencies", type=float, nargs="+", default=[0.0, 0.05, 0.2])
    p.add_argument("--workers", nargs="+", default=["1", "2", "4", DEFAULT],
                   help=f"worker counts of the curve; '{DEFAULT}' passes no --workers")  # fmt: skip
    p.add_argument("--skip-curve", action="store_true")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 2,000 customers, 1 run, curve at 1,000 customers")  # fmt: skip
    args = p.parse_args(argv)
    if args.quick:
        args.customers, args.runs, args.curve_customers = [2_000], [1], 1_000
        args.latencies = [0.0, 0.05]
    args.runs += [args.runs[-1]] * (len(args.customers) - len(args.runs))
    args.curve_runs = args.curve_runs or args.runs[0]
    if args.resync_sizes is None:
        args.resync_sizes = len(args.customers)
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    import tempfile

    args = parse_args(argv)
    default = cli_default_workers()
    # The CLI default runs once, under its own label, when it equals a listed count.
    workers = args.workers
    if DEFAULT in workers:
        workers = [w for w in workers if w != default]
    with tempfile.TemporaryDirectory(prefix="pelcro-bench-") as tmp:
        rows = [headline(n, runs=args.runs[i], peer=i < args.peer_sizes,
                         resync=i < args.resync_sizes, tmp=tmp)
                for i, n in enumerate(args.customers)]  # fmt: skip
        print(f"\n`pelcro-sync sync`, {len(NAMES)} entities x 2 sites, workers: CLI default "
              f"({default}); sandbox serving cached pages; medians of the runs shown")  # fmt: skip
        print_headline(rows)
        points: list[dict[str, Any]] = []
        if not args.skip_curve:
            points = curve(args.curve_customers, latencies=args.latencies, workers=workers,
                           runs=args.curve_runs, tmp=tmp)  # fmt: skip
            print(f"\nworkers x latency: first load of {args.curve_customers:,} customers "
                  f"(18 entities x 2 sites), medians of {args.curve_runs}")  # fmt: skip
            print_curve(points, default=default)
    return {"headline": rows, "curve": points, "default_workers": default}


if __name__ == "__main__":
    main()
