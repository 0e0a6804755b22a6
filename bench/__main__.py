"""`make bench`: every benchmark in one run, then one table of figures against targets.

python -m bench              # defaults: ~12 minutes on 2 cores
python -m bench --large      # adds the 1,000,000-customer sync (memory flatness; long)
python -m bench --write      # adds the write-path micro-benchmark (bench.write)
python -m bench --webhooks   # adds the webhook receiver under load (bench.webhooks_load, ~80 s)

Each module has its own flags for longer runs: `python -m bench.read --help`,
`python -m bench.e2e --help`, `python -m bench.write --help`,
`python -m bench.webhooks_load --help`.
"""

import argparse
import sys
from typing import Any


def main(argv: list[str] | None = None) -> int:
    from bench import e2e, read, webhooks_load, write

    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--large", action="store_true", help="also sync 1,000,000 customers")
    p.add_argument("--write", action="store_true", help="also run bench.write")
    p.add_argument("--webhooks", action="store_true", help="also run bench.webhooks_load")
    p.add_argument("--paced-seconds", default="60")
    p.add_argument("--runs", default="3")
    p.add_argument("--entities", default="customers", help="entities of the e2e sync")
    args = p.parse_args(argv)

    if args.write:
        print("== write path: normalize + COPY/merge upsert vs plain COPY ==", flush=True)
        write.main([])
    print("\n== rate-limited read, ours and dlt side by side ==", flush=True)
    paced = read.main(["--paced-seconds", args.paced_seconds, "--runs", args.runs,
                       "--skip-unthrottled"])  # fmt: skip
    print("\n== unthrottled end-to-end sync ==", flush=True)
    sizes = ["100000", "1000000"] if args.large else ["100000"]
    rows = e2e.main(["--customers", *sizes, "--runs", args.runs, "--entities", args.entities])
    print("\n== the same sync, the sandbox rendering every page while measured ==", flush=True)
    cold = e2e.main(["--customers", "100000", "--runs", "1", "--entities", args.entities,
                     "--cold-api", "--peer-entities", ""])  # fmt: skip
    hooks = None
    if args.webhooks:
        print("\n== webhook receiver: 500 slow connections, 100 deliveries/s for 60 s ==",
              flush=True)  # fmt: skip
        hooks = webhooks_load.main([])
    print_summary(paced, rows + cold, hooks)
    return 0


def print_summary(
    paced: dict[str, dict[str, Any]], rows: list[dict[str, Any]], hooks: dict[str, Any] | None
) -> None:
    lines: list[tuple[str, str, str]] = []
    for name, r in paced.items():
        target = ">= 0.95, 0 x 429" if name.startswith("ours") else "(peer)"
        lines.append((f"read {name}: budget share, 429s", target,
                      f"{r['budget_share']:.3f}, {r['throttled_429']:g}"))  # fmt: skip
    for r in rows:
        n = f"{r['customers']:,} customers ({r['records']:,} records)"
        if not r["warm_api"]:
            lines += [
                (f"sync {n}, sandbox rendering pages (cold): records/s", "",
                 f"{r['sync_records_s']:,.0f}"),
                ("  sync / plain COPY (one run)", "", f"{r['ratio_to_copy']:.2f}"),
            ]  # fmt: skip
            continue
        lines += [
            (f"sync {n}: records/s", "", f"{r['sync_records_s']:,.0f}"),
            ("  plain COPY of the same rows, records/s", "", f"{r['copy_records_s']:,.0f}"),
            ("  sync / plain COPY", ">= 0.5", f"{r['ratio_to_copy']:.2f}"),
            ("  sync process CPU per record (us)", "", f"{r['sync_cpu_us_per_record']:.1f}"),
            ("  stages records/s: fetch, parse, prepare, write", "",
             ", ".join(f"{r[f'{s}_records_s']:,.0f}" for s in
                       ("fetch", "parse", "prepare", "write"))),
            ("  delete detection (s); scan-only records/s", "",
             f"{r['reconcile_s']:.1f}; {r['scan_records_s']:,.0f}"),
            ("  peak RSS (MiB)", "< 1024, flat x10", f"{r['peak_rss_mb']:,.0f}"),
            ("  re-sync: rows written", "0", f"{r['resync_written']:,}"),
            ("  re-sync time / first sync", "< 1", f"{r['resync_to_first']:.2f}"),
        ]  # fmt: skip
        if "ours_vs_dlt" in r:
            lines.append((f"  vs dlt ({r['peer_entities']}): ours / dlt records/s", ">= 3",
                          f"{r['peer_ours_records_s']:,.0f} / {r['peer_dlt_records_s']:,.0f}"
                          f" = {r['ours_vs_dlt']:.2f}"))  # fmt: skip
    warm = [r for r in rows if r["warm_api"]]
    if len(warm) == 2:
        lines.append(("peak RSS 1M / 100k", "<= 1.2",
                      f"{warm[1]['peak_rss_mb'] / warm[0]['peak_rss_mb']:.2f}"))  # fmt: skip
    if hooks is not None:
        lines += [
            ("webhooks under load: answered 2xx / sent / stored", "all equal",
             f"{hooks['answered_2xx']:,} / {hooks['sent']:,} / {hooks['stored']:,}"),
            ("  p50 / p99 (ms)", "p99 < 1000", f"{hooks['p50_ms']:,.0f} / {hooks['p99_ms']:,.0f}"),
            ("  receiver threads (max); RSS start -> max (MiB)", "bounded",
             f"{hooks['threads_max']}; {hooks['rss_start_mib']:.0f} -> {hooks['rss_max_mib']:.0f}"),
        ]  # fmt: skip
    width = max(len(a) for a, _, _ in lines)
    print(f"\n{'measure':<{width}}  {'target':<18}  reached (medians)")
    for a, b, c in lines:
        print(f"{a:<{width}}  {b:<18}  {c}")


if __name__ == "__main__":
    sys.exit(main())
