"""Revalue a 10,000-account demo book (about 1.35M lots) in base currency, with exposures.

Build the book once, outside the repository, and reuse it:

    python -m workstation.cli.main --db sqlite:////tmp/bench10k.db demo --accounts 10000
    python benchmarks/revalue.py --db sqlite:////tmp/bench10k.db

Issue #3's target is the whole job under 5 s: getting the lots from the store, revaluing them
and computing the exposures. So the table shows each part and their sum:

- read: FX rates for the date, then `BookCache.load` (lots through the driver cursor, five
  numbers per lot: valuation.load_lot_values; cash, securities, accounts);
- revalue: last closes and every lot in local and base currency (cache.revalue);
- exposures: by currency, sector, country and asset class per account, and by currency at
  firm level;
- total: read + revalue + exposures of the first pass (nothing warm but the OS page cache),
  and the same with the best revalue and exposures of --repeat passes.

Each step shows wall time and this process's CPU time: on a shared 2-core machine wall time
grows with the load average (printed before and after), CPU time much less. Peak memory is the
process's maximum resident set size (resource.getrusage). --with-value-lots also times the
all-in-one `value_lots` path (every lot column, read and valued) for comparison.
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

TARGET_S = 5.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Clock:
    """Wall and CPU seconds of a block."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", default="sqlite:////tmp/bench10k.db")
    p.add_argument("--as-of", type=date.fromisoformat)
    p.add_argument(
        "--repeat", type=int, default=3, help="revalue + exposure passes (first, best, median shown)"
    )
    p.add_argument("--with-value-lots", action="store_true", help="also time valuation.value_lots end to end")
    args = p.parse_args()
    db = Database(args.db)
    load_before = os.getloadavg()[0]
    with db.session() as session:
        as_of = args.as_of or latest_price_date(session)
        if as_of is None:
            print("the book has no prices: build the demo first", file=sys.stderr)
            return 2
        with Clock() as read:
            fx = FxTable.load(session, start=as_of, end=as_of)
            cache = BookCache.load(session, as_of, fx)
        reval: list[Clock] = []
        expo: list[Clock] = []
        for _ in range(max(args.repeat, 1)):
            with Clock() as c:
                valued = revalue(cache.lots, price_series(session, as_of), fx, as_of)
            reval.append(c)
            with Clock() as c:
                exp = [
                    exposure(valued, cache.cash, cache.securities, cache.accounts, by=b) for b in DIMENSIONS
                ]
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
            expo.append(c)
        value_lots_clock = None
        if args.with_value_lots:
            with Clock() as value_lots_clock:
                v = value_lots(session, as_of, FxTable.load(session, end=as_of))
    load_after = os.getloadavg()[0]
    n_acc = valued["account_id"].nunique()

    def best(clocks: list[Clock]) -> Clock:
        return min(clocks, key=lambda c: c.wall)

    def median(clocks: list[Clock]) -> float:
        return sorted(c.wall for c in clocks)[len(clocks) // 2]

    first_wall = read.wall + reval[0].wall + expo[0].wall
    first_cpu = read.cpu + reval[0].cpu + expo[0].cpu
    best_wall = read.wall + best(reval).wall + best(expo).wall
    best_cpu = read.cpu + best(reval).cpu + best(expo).cpu
    print(
        f"book {args.db}  as of {as_of}  {len(cache.lots):,} lots, {n_acc:,} accounts  "
        f"load average {load_before:.1f} before, {load_after:.1f} after, on {os.cpu_count()} CPUs"
    )
    print(f"{'step':52} {'wall s':>8} {'CPU s':>8}  detail")
    rows = [
        ("read: FX for the date, lots, cash, reference (once)", read.wall, read.cpu, f"{len(cache.lots):,} lots"),
        ("revalue: prices + FX, every lot local and base", reval[0].wall, reval[0].cpu,
         f"first pass; best {best(reval).wall:.2f}s, median {median(reval):.2f}s of {len(reval)}"),
        ("exposures: 4 dims x account, firm by currency", expo[0].wall, expo[0].cpu,
         f"{sum(len(e) for e in exp):,} rows; best {best(expo).wall:.2f}s, median {median(expo):.2f}s"),
        ("TOTAL read + revalue + exposures (first pass)", first_wall, first_cpu,
         f"target < {TARGET_S:g} s: {'met' if first_wall < TARGET_S else 'NOT met'} (wall)"),
        ("total with the best revalue and exposures", best_wall, best_cpu, ""),
    ]  # fmt: skip
    if value_lots_clock is not None:
        rows.append(("valuation.value_lots (every column, no cache)", value_lots_clock.wall, value_lots_clock.cpu,
                     f"{len(v):,} lots, FX history loaded"))  # fmt: skip
    for name, sec, proc, detail in rows:
        print(f"{name:52} {sec:8.2f} {proc:8.2f}  {detail}")
    print(
        f"{'lots per second (revalue + exposures, best, wall)':52} {len(cache.lots) / (best(reval).wall + best(expo).wall):8,.0f}"
    )
    print(f"{'firm total (USD)':52} {firm['value'].sum():,.0f}")
    print(f"{'peak memory (max RSS, MB)':52} {peak_mb():8,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
