"""Unthrottled end-to-end sync (sandbox process -> pipeline -> Postgres) against plain COPY.

python -m bench.e2e                         # 100,000 customers: their 60,000 on one site
python -m bench.e2e --customers 1000000     # the tenfold case (~5.3M records; minutes)

Each sync runs in a fresh process (spawn) so its peak RSS is its own. Per run: the first
sync into an empty schema, a re-sync of the unchanged data, and a plain binary COPY of the
very rows the sync wrote (exported from its tables) into empty copies of those tables.

The sandbox serves pages it rendered in a warm-up read (`SandboxConfig.page_cache`): it
shares these cores with the sync, where Pelcro's servers would not. `--cold-api` measures
with the sandbox rendering every page while the sync runs.
"""

import argparse
import concurrent.futures
import multiprocessing
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench.common import libpq, median, peak_rss_mb, sandbox_process, throwaway_database, warm
from pelcro_sandbox.config import SandboxConfig
from pelcro_sync.entities import ENTITIES

SCHEMA = "pelcro"


def _sync_child(
    base_url: str, api_key: str, site: int, url: str, entities: list[str], workers: int,
    profile: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """One `run_tasks` sync, in its own process; stage times and peak RSS."""
    from bench import stages
    from pelcro_sync.config import Secret, Settings
    from pelcro_sync.entities import get_entity
    from pelcro_sync.pipeline.runner import plan, run_tasks
    from pelcro_sync.warehouse.warehouse import Warehouse

    stages.install()
    settings = Settings(
        api_key=Secret(api_key), base_url=base_url, rate_limit=1_000_000, site_ids=(site,),
        database_url=url, schema=SCHEMA,
    )  # fmt: skip
    warehouse = Warehouse.open(url, schema=SCHEMA)  # migrated by `prepare`: one query
    tasks = plan([get_entity(e) for e in entities], [site])
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler(async_mode="disabled")
        profiler.start()
    start, cpu = time.perf_counter(), time.process_time()
    results, failures = run_tasks(settings, tasks, warehouse=warehouse, workers=workers)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    if profiler is not None:
        profiler.stop()
        Path(profile).write_text(profiler.output_text(unicode=True, show_all=False))  # type: ignore[arg-type]
    warehouse.dispose()
    if failures:
        raise RuntimeError(f"sync failed: {failures[0][1]!r}")
    return {
        "elapsed": elapsed,
        "cpu": cpu,  # the sync process's own CPU seconds (all its threads)
        "records": sum(r.records_read for r in results),
        "written": sum(r.written for r in results),
        "stages": stages.report(),
        "peak_rss_mb": peak_rss_mb(),
    }


def sync_in_process(*args: Any) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
        return pool.submit(_sync_child, *args).result()


def prepare(url: str) -> None:
    from pelcro_sync.warehouse import migrate

    migrate.upgrade(url, schema=SCHEMA)


def plain_copy(url: str, entities: Sequence[str]) -> tuple[int, float]:
    """(rows, seconds): binary COPY of the rows the sync wrote into empty twin tables.

    The export (COPY TO a file) is not timed; only `COPY … FROM STDIN` of the same bytes,
    fed from Python in 1 MiB blocks, into tables with the same columns and primary key.
    """
    rows, seconds = 0, 0.0
    with psycopg.connect(libpq(url), autocommit=True) as conn, tempfile.TemporaryFile() as f:
        conn.execute("CREATE SCHEMA IF NOT EXISTS copy_baseline")
        for name in entities:
            src, dst = sql.Identifier(SCHEMA, name), sql.Identifier("copy_baseline", name)
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(dst))
            conn.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL)").format(dst, src))
            f.seek(0)
            f.truncate()
            with conn.cursor().copy(sql.SQL("COPY {} TO STDOUT (FORMAT BINARY)").format(src)) as cp:
                for block in cp:
                    f.write(block)
            f.seek(0)
            start = time.perf_counter()
            with conn.transaction(), conn.cursor() as cur:
                with cur.copy(sql.SQL("COPY {} FROM STDIN (FORMAT BINARY)").format(dst)) as cp:
                    while block := f.read(1 << 20):
                        cp.write(block)
                n = cur.execute(sql.SQL("SELECT count(*) FROM {}").format(dst)).fetchone()[0]  # type: ignore[index]
            seconds += time.perf_counter() - start
            rows += n
    return rows, seconds


def run(customers: int, entities: list[str], runs: int, workers: int, profile: str | None = None,
        *, peer_entities: list[str] | None = None, warm_api: bool = True,
        ) -> dict[str, Any]:  # fmt: skip
    from bench.peer import dlt_child

    cfg = SandboxConfig(customers=customers, rate_limit=None, latency=0.0, page_cache=warm_api)
    firsts, resyncs, copies, peers = [], [], [], []
    ctx = multiprocessing.get_context("spawn")
    with sandbox_process(cfg) as sb:
        site = sb.site_ids[0]
        if warm_api:
            warm(sb, site, sorted({*entities, *(peer_entities or [])}))
        for i in range(runs):
            with throwaway_database() as url:
                prepare(url)
                args = (sb.base_url, sb.api_key, site, url, entities, workers)
                firsts.append(sync_in_process(*args, profile if i == 0 else None))
                resyncs.append(sync_in_process(*args))
                copies.append(plain_copy(url, entities))
            if peer_entities:
                with throwaway_database() as url:
                    prepare(url)
                    ours = sync_in_process(sb.base_url, sb.api_key, site, url, peer_entities,
                                           workers)  # fmt: skip
                    with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as pool:
                        theirs = pool.submit(dlt_child, sb.base_url, sb.api_key, site,
                                             peer_entities, url).result()  # fmt: skip
                peers.append((ours, theirs))
    out = summarise(customers, firsts, resyncs, copies)
    out["warm_api"] = warm_api
    if peers:
        out["peer_entities"] = ",".join(peer_entities or [])
        out["peer_ours_records_s"] = median([a["records"] / a["elapsed"] for a, _ in peers])
        out["peer_dlt_records_s"] = median([b["records"] / b["elapsed"] for _, b in peers])
        out["ours_vs_dlt"] = median([(a["records"] / a["elapsed"]) / (b["records"] / b["elapsed"])
                                     for a, b in peers])  # fmt: skip
        out["dlt_peak_rss_mb"] = max(b["peak_rss_mb"] for _, b in peers)
    return out


def summarise(customers: int, firsts: list, resyncs: list, copies: list) -> dict[str, Any]:
    records = firsts[0]["records"]
    rate = median([r["records"] / r["elapsed"] for r in firsts])
    copy_rate = median([n / s for n, s in copies])
    stage_rates = {
        name: median([r["records"] / r["stages"][name] for r in firsts if r["stages"][name] > 0])
        for name in ("fetch", "parse", "prepare", "write")
    }
    return {
        "customers": customers,
        "records": records,
        "sync_records_s": rate,
        "copy_records_s": copy_rate,
        "ratio_to_copy": median(
            [
                (r["records"] / r["elapsed"]) / (n / s)
                for r, (n, s) in zip(firsts, copies, strict=True)
            ]
        ),
        **{f"{k}_records_s": v for k, v in stage_rates.items()},
        "reconcile_s": median([r["stages"]["reconcile"] for r in firsts]),
        "scan_records_s": median(
            [r["records"] / (r["elapsed"] - r["stages"]["reconcile"]) for r in firsts]
        ),
        "wait_share": median([r["stages"]["wait"] / r["elapsed"] for r in firsts]),
        "first_sync_s": median([r["elapsed"] for r in firsts]),
        "sync_cpu_us_per_record": median([r["cpu"] / r["records"] * 1e6 for r in firsts]),
        "first_written": firsts[0]["written"],
        "resync_s": median([r["elapsed"] for r in resyncs]),
        "resync_written": max(r["written"] for r in resyncs),
        "resync_to_first": median(
            [b["elapsed"] / a["elapsed"] for a, b in zip(firsts, resyncs, strict=True)]
        ),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in firsts + resyncs),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__)
    p.add_argument("--customers", type=int, nargs="+", default=[100_000])
    p.add_argument("--entities", default="customers", help="comma-separated, or 'all'")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--workers", type=int, default=4, help="entities synced at once")
    p.add_argument("--profile", help="write a pyinstrument profile of the first sync here")
    p.add_argument(
        "--cold-api",
        action="store_true",
        help="the sandbox renders every page while measured (its CPU competes with the sync)",
    )
    p.add_argument(
        "--peer-entities", default="customers", help="entities for the dlt comparison ('' to skip)"
    )
    p.add_argument("--peer-sizes", type=int, default=1,
                   help="compare with dlt at the first N --customers sizes only")  # fmt: skip
    return p.parse_args(argv)


def entity_names(spec: str) -> list[str]:
    return [e.name for e in ENTITIES] if spec == "all" else spec.split(",")


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    args = parse_args(argv)
    out = []
    for i, n in enumerate(args.customers):
        peer = args.peer_entities.split(",") if args.peer_entities and i < args.peer_sizes else None
        row = run(n, entity_names(args.entities), args.runs, args.workers, args.profile,
                  peer_entities=peer, warm_api=not args.cold_api)  # fmt: skip
        out.append(row)
        for k, v in row.items():
            text = f"{v:,.2f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else v
            print(f"  {k:<26}{text:>16}")
    return out


if __name__ == "__main__":
    main()
