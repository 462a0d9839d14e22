"""Benchmark: build the simulated demo book and print a table (wall time, rows, peak memory).

    .venv/bin/python benchmarks/demo_build.py --accounts 200 10000 [--db-dir /tmp]

Target (issue 2): 10,000 accounts build in under a minute on the 2-core machine.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import resources
from engine.demo.build import build_demo_book
from engine.store.database import Database
from engine.store.migrate import upgrade


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, nargs="+", default=[200, 10_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--db-dir", default=tempfile.gettempdir())
    args = parser.parse_args()
    print(
        f"{'accounts':>9} {'lots':>10} {'prices':>9} {'build s':>8} {'cpu s':>7} {'acct/s':>8} {'peak RSS MB':>12}"
    )
    for n in args.accounts:
        path = Path(args.db_dir) / f"bench_demo_{n}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        database = Database(f"sqlite:///{path}")
        upgrade(database)
        t0, c0 = time.perf_counter(), time.process_time()
        build = build_demo_book(
            database, resources.path("reference"), accounts=n, seed=args.seed, today=date(2026, 11, 22)
        )
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{n:>9,} {build.rows['tax_lots']:>10,} {build.rows['prices']:>9,} {secs:>8.1f} {cpu:>7.1f} {n / secs:>8.0f} {peak:>12.0f}"
        )
        database.dispose()


if __name__ == "__main__":
    main()
