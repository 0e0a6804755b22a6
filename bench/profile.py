"""Profile the headline first load: `pelcro-sync sync` of every entity, as its own process.

python -m bench.profile --customers 20000 -- py-spy record -o /tmp/sync.txt --format raw --
python -m bench.profile --customers 20000 --importtime /tmp/imports.txt

Starts and warms a caching sandbox and a fresh, migrated database as bench.workload does,
then runs the sync with the given command in front of it (a profiler that takes the
command to run after it), or under `python -X importtime` (its report to the given file).
"""

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.common import sandbox_process, throwaway_database
from bench.proctree import run_measured
from bench.workload import CLI, child_env, run_cli, warm_all
from pelcro_sandbox.config import SandboxConfig


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--customers", type=int, default=20_000)
    p.add_argument("--workers", help="--workers for the sync (default: the CLI's)")
    p.add_argument("--importtime", help="run under -X importtime, its report to this file")
    p.add_argument("prefix", nargs="*", help="profiler command to put before the sync")
    args = p.parse_args(argv)
    cmd = [*args.prefix, str(CLI), "sync"] + (["--workers", args.workers] if args.workers else [])
    if args.importtime:
        cmd = [sys.executable, "-X", "importtime", *cmd[len(args.prefix):]]  # fmt: skip
    cfg = SandboxConfig(customers=args.customers, rate_limit=None, page_cache=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        sandbox_process(cfg) as sb,
        throwaway_database() as url,
    ):
        warm_all(sb)
        run_cli(sb, url, "migrate", cwd=tmp)
        m = run_measured(cmd, env=child_env(sb, url), cwd=tmp)
    if args.importtime:
        Path(args.importtime).write_text(m.stderr)
    elif m.stderr.strip():
        print(m.stderr.strip()[-2000:], file=sys.stderr)
    print(f"exit {m.returncode}, {m.elapsed:.1f} s, peak RSS of the tree {m.peak_rss_mb:,.0f} MiB")


if __name__ == "__main__":
    main()
