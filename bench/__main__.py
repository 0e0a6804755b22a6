"""`make bench`: every benchmark in one run, each printing its own table.

Quick settings by default so `make bench` finishes in minutes on a 2-core machine; each
module's own flags (`python -m bench.read --help`, `python -m bench.write --help`) run longer.
"""

import sys


def main() -> int:
    from bench import read, write

    print("== write path: normalize + COPY/merge upsert vs plain COPY ==", flush=True)
    write.main([])
    print("\n== client: rate-limited read and unthrottled read ==", flush=True)
    read.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
