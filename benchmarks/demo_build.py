"""Benchmark: build the simulated demo book and print a table (wall time, rows, peak memory).

    .venv/bin/python benchmarks/demo_build.py --accounts 200 10000 [--history-years 3] [--db-dir /tmp]

Targets: issue 2, 10,000 accounts (no history) in under a minute; issue 14, the default book
with its three years of SIMULATED history under 60 s and 10,000 accounts with it under 3 minutes
on the 2-core machine. Prints the load average before and after (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
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
from workstation.compose import inbox_kinds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, nargs="+", default=[200, 10_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--db-dir", default=tempfile.gettempdir())
    parser.add_argument("--history-years", type=int, default=3, help="years of simulated history (0: none)")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    print(
        f"{'accounts':>9} {'years':>5} {'lots':>10} {'prices':>9} {'closes':>6} {'trades':>7} {'build s':>8} "
        f"{'cpu s':>7} {'acct/s':>8} {'peak RSS MB':>12}"
    )
    for n in args.accounts:
        path = Path(args.db_dir) / f"bench_demo_{n}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        database = Database(f"sqlite:///{path}")
        upgrade(database)
        t0, c0 = time.perf_counter(), time.process_time()
        build = build_demo_book(
            database,
            resources.path("reference"),
            accounts=n,
            seed=args.seed,
            today=date(2026, 11, 22),
            history_years=args.history_years,
            inbox_kinds=inbox_kinds() if args.history_years else None,
        )
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        h = build.history
        print(
            f"{n:>9,} {args.history_years:>5} {build.rows['tax_lots']:>10,} {build.rows['prices']:>9,} "
            f"{h.get('closes', 0):>6} {h.get('trades', 0):>7,} {secs:>8.1f} {cpu:>7.1f} {n / secs:>8.0f} {peak:>12.0f}",
            flush=True,
        )
        database.dispose()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
