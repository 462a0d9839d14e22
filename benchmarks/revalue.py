"""Revalue a 10,000-account demo book (about 1.35M lots) in base currency, with exposures.

Build the book once, outside the repository, and reuse it:

    python -m workstation.cli.main --db sqlite:////tmp/bench10k.db demo --accounts 10000
    python benchmarks/revalue.py --db sqlite:////tmp/bench10k.db

Prints one table: the one-off read of lots/cash into memory (driver cursor into numpy, one scan
of tax_lots), then the revaluation as of the book date (prices + FX, every lot in local and base
currency) with exposure by currency, sector, country and asset class at account level and by
currency at firm level; and the older all-in-one `value_lots` path for comparison
(--with-value-lots). Each step shows wall time and this process's CPU time: on a shared 2-core
machine wall time grows with the load average (printed before and after), CPU time much less.
Peak memory is the process's maximum resident set size (resource.getrusage).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.analytics.exposure import DIMENSIONS, exposure
from engine.pricing.cache import BookCache, price_series, revalue
from engine.pricing.fx import FxTable
from engine.pricing.prices import latest_price_date
from engine.pricing.valuation import value_lots
from engine.store.database import Database


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", default="sqlite:////tmp/bench10k.db")
    p.add_argument("--as-of", type=date.fromisoformat)
    p.add_argument("--repeat", type=int, default=3, help="revaluations to time (best and median shown)")
    p.add_argument("--with-value-lots", action="store_true", help="also time valuation.value_lots end to end")
    args = p.parse_args()
    db = Database(args.db)
    rows: list[tuple[str, float, float, str]] = []
    load_before = os.getloadavg()[0]
    with db.session() as session:
        as_of = args.as_of or latest_price_date(session)
        if as_of is None:
            print("the book has no prices: build the demo first", file=sys.stderr)
            return 2
        t, c = time.perf_counter(), time.process_time()
        fx = FxTable.load(session, end=as_of)
        cache = BookCache.load(session, as_of, fx)
        rows.append(
            (
                "read lots, cash, reference into memory (once)",
                time.perf_counter() - t,
                time.process_time() - c,
                f"{len(cache.lots):,} lots",
            )
        )
        times = []
        cpu = []
        for _ in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            prices = price_series(session, as_of)
            valued = revalue(cache.lots, prices, fx, as_of)
            exp = [exposure(valued, cache.cash, cache.securities, cache.accounts, by=b) for b in DIMENSIONS]
            firm = exposure(
                valued,
                cache.cash,
                cache.securities,
                cache.accounts,
                by="currency",
                level="firm",
                fx=fx,
                as_of=as_of,
            )
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        times.sort()
        cpu.sort()
        n_acc = valued["account_id"].nunique()
        rows.append(
            (
                "revalue + exposures (4 dims x account, firm FX)",
                times[0],
                cpu[0],
                f"{n_acc:,} accounts, {sum(len(e) for e in exp):,} exposure rows; median {times[len(times) // 2]:.2f}s",
            )
        )
        total_usd = firm["value"].sum()
        if args.with_value_lots:
            t, c = time.perf_counter(), time.process_time()
            v = value_lots(session, as_of, fx)
            rows.append(
                (
                    "valuation.value_lots (read + value, no cache)",
                    time.perf_counter() - t,
                    time.process_time() - c,
                    f"{len(v):,} lots",
                )
            )
    print(
        f"book {args.db}  as of {as_of}  load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs"
    )
    print(f"{'step':52} {'wall s':>8} {'CPU s':>8}  detail")
    for name, sec, proc, detail in rows:
        print(f"{name:52} {sec:8.2f} {proc:8.2f}  {detail}")
    print(f"{'lots per second (revalue + exposures, wall)':52} {len(cache.lots) / times[0]:8,.0f}")
    print(f"{'firm total (USD)':52} {total_usd:,.0f}")
    print(f"{'peak memory (max RSS, MB)':52} {peak_mb():8,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
