"""`make bench`: every benchmark in one run, then the tables of figures against targets.

python -m bench              # defaults: see the budget below
python -m bench --quick      # smoke run of the headline only (2,000 customers, 1 run)
python -m bench --large      # the headline's 100,000 customers x 3 runs with its re-sync,
                             # the cold-API sync and the 1,000,000-customer sync (long)
python -m bench --write      # adds the write-path micro-benchmark (bench.write)
python -m bench --webhooks   # adds the webhook receiver under load (bench.webhooks_load, ~80 s)

The headline (bench.workload) is the workload users run: `pelcro-sync sync` of all 18
entities of two sites as its own process, with plain COPY and dlt side by side, the
unchanged `sync --full`, and the workers x latency curve. The single-entity figures follow
as secondary rows.

Budget of the defaults (15 minutes on 2 quiet cores): the headline at 20,000 customers x 3
runs (with dlt and the re-sync) and 100,000 x 1 run (first load and COPY only), the curve at
5,000 customers x 1 run; the rate-limited read 1 run (its budget share barely moves between
runs; 2 minutes of fixed wall time each); the single-entity sync without its dlt peer (dlt is
in the headline) and without the cold-API run (`--large` adds it).

Each module has its own flags for longer runs: `python -m bench.workload --help`,
`python -m bench.read --help`, `python -m bench.e2e --help`, `python -m bench.write --help`,
`python -m bench.webhooks_load --help`.
"""

import argparse
import sys
from typing import Any


def main(argv: list[str] | None = None) -> int:
    from bench import e2e, read, webhooks_load, workload, write

    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--quick", action="store_true", help="the headline only, small and once")
    p.add_argument("--large", action="store_true", help="the long runs too (see above)")
    p.add_argument("--write", action="store_true", help="also run bench.write")
    p.add_argument("--webhooks", action="store_true", help="also run bench.webhooks_load")
    p.add_argument("--paced-seconds", default="60")
    p.add_argument("--runs", default="3")
    p.add_argument("--entities", default="customers", help="entities of the e2e sync")
    args = p.parse_args(argv)

    print("== headline: pelcro-sync sync, 18 entities x 2 sites, own process ==", flush=True)
    if args.quick:
        head = workload.main(["--quick"])
    else:
        big_runs = args.runs if args.large else "1"
        head = workload.main(["--customers", "20000", "100000", "--runs", args.runs, big_runs,
                              "--resync-sizes", "2" if args.large else "1",
                              "--curve-runs", args.runs if args.large else "1"])  # fmt: skip
    if args.quick:
        return 0
    if args.write:
        print("== write path: normalize + COPY/merge upsert vs plain COPY ==", flush=True)
        write.main([])
    print("\n== rate-limited read, ours and dlt side by side ==", flush=True)
    paced = read.main(["--paced-seconds", args.paced_seconds, "--runs",
                       args.runs if args.large else "1", "--skip-unthrottled"])  # fmt: skip
    print("\n== unthrottled end-to-end sync, one entity of one site ==", flush=True)
    sizes = ["100000", "1000000"] if args.large else ["100000"]
    rows = e2e.main(["--customers", *sizes, "--runs", args.runs, "--entities", args.entities,
                     "--peer-entities", "customers" if args.large else ""])  # fmt: skip
    if args.large:
        print("\n== the same sync, the sandbox rendering every page while measured ==",
              flush=True)  # fmt: skip
        rows += e2e.main(["--customers", "100000", "--runs", "1", "--entities", args.entities,
                          "--cold-api", "--peer-entities", ""])  # fmt: skip
    hooks = None
    if args.webhooks:
        print("\n== webhook receiver: 500 slow connections, 100 deliveries/s for 60 s ==",
              flush=True)  # fmt: skip
        hooks = webhooks_load.main([])
    print("\n== HEADLINE (bench.workload) ==")
    workload.print_headline(head["headline"])
    if head["curve"]:
        print()
        workload.print_curve(head["curve"], default=head["default_workers"])
    print("\n== secondary rows ==")
    print_summary(paced, rows, hooks)
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
