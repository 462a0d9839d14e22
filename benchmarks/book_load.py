"""Benchmark: the desk's fresh book without Qt (`engine.views.book.load_frames`), step by step.

Prints wall and process CPU for the snapshot without lots, the lot read (`read_lots`: one
aggregate query whose integer texts numpy parses), the numpy valuation (`value_book`) and the
whole `load_frames` (which reads the lots on a thread beside the snapshot), with the lots and
positions counted, the peak RSS and the load average. numpy's huge pages are off as on the desk
(`ui.pages`) unless --huge-pages.
`--rows` also times the row-by-row lot read (`read_lot_rows`) for comparison.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True, help="a book's URL, e.g. sqlite:////tmp/book.db")
    ap.add_argument("--rows", action="store_true", help="also time the row-by-row lot read")
    ap.add_argument(
        "--huge-pages",
        action="store_true",
        help="leave numpy's huge-page requests on (the desk turns them off)",
    )
    args = ap.parse_args()
    if not args.huge_pages:
        from ui.pages import use_small_pages

        use_small_pages()
    from engine.accounting.holding import last_long_acquisition
    from engine.pricing.lot_columns import read_lot_rows
    from engine.store.database import Database
    from engine.views.book import load_frames, read_lots
    from engine.views.book_values import value_book
    from engine.views.snapshot import load_snapshot

    database = Database(args.db)
    marks: list[tuple[str, float, float]] = []

    def step(name: str, t0: tuple[float, float]) -> tuple[float, float]:
        now = (time.perf_counter(), cpu())
        marks.append((name, now[0] - t0[0], now[1] - t0[1]))
        return now

    load0 = Path("/proc/loadavg").read_text().split()[0]
    t = (time.perf_counter(), cpu())
    snap = load_snapshot(database, with_lots=False)
    t = step("snapshot without lots (accounts, securities, models, FX, cash)", t)
    lots, prices, mult = read_lots(database, snap)
    t = step(f"lot read: {len(lots):,} lots as columns, last prices, multipliers (after the snapshot)", t)
    valued = value_book(snap, lots, prices, mult, snap.accounts.index.tolist())
    t = step(f"valued in numpy: {len(valued.positions):,} positions, {len(valued.accounts):,} accounts", t)
    if args.rows:
        assert snap.as_of is not None
        with database.session() as s:
            read_lot_rows(s, last_long_acquisition(snap.as_of))
        t = step("for comparison: the same lots read row by row (read_lot_rows)", t)
    del lots, valued
    t = (time.perf_counter(), cpu())
    frames = load_frames(database)
    step(f"load_frames, whole: the lot read beside the snapshot ({len(frames.positions):,} positions)", t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("| step | wall s | process CPU s |")
    print("|---|---|---|")
    for name, wall, c in marks:
        print(f"| {name} | {wall:.2f} | {c:.2f} |")
    print(f"| peak RSS | {peak:,.0f} MiB | |")
    print(
        f"| load average (1 min) start -> end | {load0} -> {Path('/proc/loadavg').read_text().split()[0]} | |"
    )


if __name__ == "__main__":
    main()
