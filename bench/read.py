"""Client read benchmark: share of a rate-limited budget used, and unthrottled records/s.

python -m bench.read                       # quick: 60 s paced run + one unthrottled read
python -m bench.read --paced-seconds 150   # the 2-3 minute run
"""

import argparse
import gc
import multiprocessing
import statistics
import threading
import time
from collections.abc import Sequence
from typing import Any

from bench.common import sandbox_process
from pelcro_sandbox.config import SandboxConfig
from pelcro_sandbox.runner import serve
from pelcro_sandbox.sandbox import Sandbox
from pelcro_sync.api.client import PelcroClient
from pelcro_sync.api.ratelimit import reset_shared_budgets
from pelcro_sync.config import Secret, Settings
from pelcro_sync.entities import get_entity

PACED_ENTITIES = ("customers", "invoices", "charges", "addresses")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.read", description=__doc__)
    p.add_argument("--paced-seconds", type=float, default=60.0, help="length of each run (a)")
    p.add_argument("--rate-limit", type=int, default=120, help="sandbox requests/min in (a)")
    p.add_argument("--latencies", type=float, nargs="+", default=[0.3, 1.0],
                   help="sandbox latencies (s) in (a)")  # fmt: skip
    p.add_argument("--runs", type=int, default=3, help="paced runs (medians)")
    p.add_argument("--warmup", type=float, default=60.0,
                   help="seconds before the measured window")  # fmt: skip
    p.add_argument("--customers", type=int, default=20_000, help="sandbox size")
    p.add_argument("--concurrency", type=int, default=8, help="pages in flight per entity")
    p.add_argument("--unthrottled-seconds", type=float, default=20.0, help="cap on run (b)")
    p.add_argument("--skip-paced", action="store_true")
    p.add_argument("--skip-unthrottled", action="store_true")
    return p.parse_args(argv)


def _client(running: Any, *, concurrency: int) -> PelcroClient:
    settings = Settings(api_key=Secret(running.api_key), base_url=running.base_url)
    return PelcroClient(settings, concurrency=concurrency)


def _read_until(client: PelcroClient, entity: str, site: int, deadline: float, out: list) -> None:
    """Read `entity` over and over until the deadline; count records."""
    records = 0
    while time.monotonic() < deadline:
        pages = client.iter_pages(get_entity(entity), site_id=site)
        for page in pages:
            records += len(page.records)
            if time.monotonic() >= deadline:
                pages.close()  # type: ignore[attr-defined]
                break
    out.append(records)


def _dlt_extract(base_url: str, api_key: str, site: int, entities: list[str]) -> None:
    """dlt's rest_api source, extract only (reads, no load), until the parent stops it."""
    import logging
    import tempfile

    import dlt
    from dlt.sources.rest_api import rest_api_source

    from bench.peer import source_config

    logging.getLogger("dlt").setLevel(logging.ERROR)
    pipeline = dlt.pipeline(pipeline_name="pelcro_paced", pipelines_dir=tempfile.mkdtemp())
    while True:
        pipeline.extract(rest_api_source(source_config(base_url, api_key, site, entities)))  # type: ignore[arg-type]


def _steady_window(server: Any, t0: float, warmup: float, seconds: float) -> tuple[float, int]:
    """Sleep through warm-up and window; (window start, 429s inside the window). The server
    starts with an empty rolling window, so in the first minute anyone may burst: the
    share is measured after `warmup` seconds, in the steady state."""
    time.sleep(max(0.0, t0 + warmup - time.time()))
    before = server.throttled
    time.sleep(max(0.0, t0 + warmup + seconds - time.time()))
    return t0 + warmup, server.throttled - before


def paced(args: argparse.Namespace, latency: float, tool: str) -> dict[str, Any]:
    """Several entities at once against a rate-limited, slow sandbox; ours or dlt's."""
    reset_shared_budgets()
    cfg = SandboxConfig(customers=args.customers, rate_limit=args.rate_limit, latency=latency)
    with serve(Sandbox(cfg)) as running:
        site = running.site_ids[0]
        if tool == "dlt":
            proc = multiprocessing.get_context("spawn").Process(
                target=_dlt_extract,
                args=(running.base_url, running.api_key, site, list(PACED_ENTITIES)),
                daemon=True,
            )
            proc.start()
            # dlt's start-up (imports, first request) is not charged to its window.
            while running.sandbox.stats.requests == 0 and proc.is_alive():
                time.sleep(0.05)
            t0, throttled = _steady_window(
                running.sandbox.stats, time.time(), args.warmup, args.paced_seconds
            )
            proc.terminate()
            proc.join(timeout=5)
        else:
            with _client(running, concurrency=args.concurrency) as c:
                c.account()  # learn the rate before the clock starts, as a sync does
                deadline = time.monotonic() + args.warmup + args.paced_seconds
                counts: list[int] = []
                threads = [
                    threading.Thread(target=_read_until, args=(c, e, site, deadline, counts))
                    for e in PACED_ENTITIES
                ]
                for t in threads:
                    t.start()
                t0, throttled = _steady_window(
                    running.sandbox.stats, time.time(), args.warmup, args.paced_seconds
                )
                for t in threads:
                    t.join()
        server = running.sandbox.stats
        served = sum(1 for t in server.served if t0 <= t < t0 + args.paced_seconds)
        worst = server.max_in_window(60.0)
    allowed = args.rate_limit * args.paced_seconds / 60.0
    return {"budget_share": served / allowed, "throttled_429": throttled,
            "max_in_any_60s": worst}  # fmt: skip


def paced_side_by_side(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Ours and dlt, at each latency, all four at once (separate sandboxes and accounts;
    at 2 requests/s each they barely use the CPU), `--runs` times; medians."""
    from concurrent.futures import ThreadPoolExecutor

    combos = [(lat, tool) for lat in args.latencies for tool in ("ours", "dlt")]
    rows: dict[tuple[float, str], list[dict[str, Any]]] = {c: [] for c in combos}
    for _ in range(args.runs):
        with ThreadPoolExecutor(len(combos)) as pool:
            futures = {c: pool.submit(paced, args, *c) for c in combos}
            for c, f in futures.items():
                rows[c].append(f.result())
    out = {}
    for (lat, tool), got in rows.items():
        out[f"{tool} @ {lat:g} s latency"] = {
            "budget_share": statistics.median(r["budget_share"] for r in got),
            "throttled_429": statistics.median(r["throttled_429"] for r in got),
            "max_in_any_60s": max(r["max_in_any_60s"] for r in got),
        }
    return out


def unthrottled(args: argparse.Namespace) -> dict[str, Any]:
    """(b) records per second the client reads and parses with no latency and no limit."""
    reset_shared_budgets()
    cfg = SandboxConfig(customers=args.customers, rate_limit=None, latency=0.0)
    with sandbox_process(cfg) as remote:
        base_url, api_key, site = remote.base_url, remote.api_key, remote.site_ids[0]
        settings = Settings(api_key=Secret(api_key), base_url=base_url, rate_limit=1_000_000)
        with PelcroClient(settings, concurrency=args.concurrency) as c:
            gc.freeze()  # measured here: the collector otherwise costs a large share of parsing
            start = time.monotonic()
            deadline = start + args.unthrottled_seconds
            records = 0
            for entity in ("customers", "invoices", "charges"):
                for page in c.iter_pages(get_entity(entity), site_id=site):
                    records += len(page.records)
                if time.monotonic() >= deadline:
                    break
            elapsed = time.monotonic() - start
            gc.unfreeze()
            stats = c.stats.snapshot()
    return {
        "records": records,
        "elapsed_s": round(elapsed, 2),
        "records_per_s": round(records / elapsed),
        "requests": stats["requests"],
        "mb_per_s": round(stats["bytes"] / elapsed / 1e6, 1),
    }


def print_table(results: dict[str, dict[str, Any]]) -> None:
    for name, row in results.items():
        print(f"\n{name}")
        for key, value in row.items():
            print(f"  {key:<18} {value}")


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, Any]]:
    args = parse_args(argv)
    results: dict[str, dict[str, Any]] = {}
    if not args.skip_paced:
        print(f"(a) paced read: {args.rate_limit}/min, latencies {args.latencies}, "
              f"{args.runs} x {args.paced_seconds:g} s …", flush=True)  # fmt: skip
        results.update(paced_side_by_side(args))
    if not args.skip_unthrottled:
        results["(b) unthrottled read"] = unthrottled(args)
    print_table(results)
    return results


if __name__ == "__main__":
    main()
