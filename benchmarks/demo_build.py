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
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import resources
from engine.demo.build import build_demo_book
from engine.store.database import Database
from engine.store.migrate import upgrade
from workstation.compose import inbox_kinds

Wrapped = Callable[..., Any]


class Phases:
    """CPU and wall seconds per phase of the build, by wrapping the functions each phase calls
    (process CPU: a child process's work is not in it). Phases nest: `close: ...` are inside
    `history: real closes`, `quiet: ...` inside `history: quiet days`."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.wall: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.undo: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, attr: str, name: str) -> None:
        """Time every call of `owner.attr` under `name`."""
        fn = getattr(owner, attr)

        def timed(*args: Any, **kwargs: Any) -> Any:
            c, w = time.process_time(), time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.cpu[name] += time.process_time() - c
                self.wall[name] += time.perf_counter() - w
                self.calls[name] += 1

        is_class = isinstance(owner, type)
        self.undo.append((owner, attr, vars(owner)[attr] if is_class else fn))
        setattr(owner, attr, staticmethod(timed) if is_class else timed)

    def install(self) -> None:
        """Wrap the history's phases (engine.demo.history and the day cycle's steps)."""
        import engine.demo.build as build
        import engine.demo.history as history
        import engine.demo.history_values as values

        self.wrap(build, "run_history", "history (all)")
        for attr, name in (("value_days", "close: sizing values"), ("cash_lines", "close: cash lines"),
                           ("rebalance_trades", "close: rebalance gaps"), ("book_fills", "close: fills booked"),
                           ("fx_lines", "close: fx lines"), ("write_activity", "close: files written"),
                           ("write_actions", "close: files written"), ("close_day", "close: close_day (all)"),
                           ("record_quiet_days", "quiet: day runs recorded (audit)"),
                           ("store_pending", "quiet: wait for the worker + insert"),
                           ("insert_quiet_values", "quiet: values inserted")):  # fmt: skip
            self.wrap(history, attr, name)
        self.wrap(values, "value_days", "quiet: values computed (in this process)")
        self.wrap(values, "insert_quiet_values", "quiet: values inserted")
        self.wrap(values.Snapshot, "take", "snapshot taken (lots read)")
        self.wrap(values.Snapshot, "of_lots", "snapshot of lots")
        for attr in ("STEPS", "HISTORY_STEPS"):
            steps = getattr(history, attr)
            self.undo.append((history, attr, steps))
            setattr(history, attr, tuple(self._step(st) for st in steps))

    def _step(self, st: Any) -> Any:
        holder = type("Holder", (), {"run": staticmethod(st.run)})
        self.wrap(holder, "run", f"close step: {st.name}")
        return replace(st, run=holder.run)  # the timed function (a staticmethod read from its class)

    def uninstall(self) -> None:
        """Put every wrapped function back."""
        for owner, attr, fn in reversed(self.undo):
            setattr(owner, attr, fn)
        self.undo.clear()

    def table(self, total_cpu: float, total_wall: float) -> str:
        """The phase table: CPU s, wall s, calls; the opening book is the total less the history."""
        rows = [("opening book (total less history)", total_cpu - self.cpu["history (all)"],
                 total_wall - self.wall["history (all)"], 1)]  # fmt: skip
        rows += [(k, self.cpu[k], self.wall[k], self.calls[k]) for k in self.cpu]
        out = [f"  {'phase':<40} {'cpu s':>8} {'wall s':>8} {'calls':>6}"]
        out += [f"  {k:<40} {c:>8.1f} {w:>8.1f} {n:>6}" for k, c, w, n in rows]
        return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, nargs="+", default=[200, 10_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--db-dir", default=tempfile.gettempdir())
    parser.add_argument("--history-years", type=int, default=3, help="years of simulated history (0: none)")
    parser.add_argument(
        "--phases", action="store_true", help="print CPU and wall seconds per phase of the build"
    )
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    print(
        f"{'accounts':>9} {'years':>5} {'lots':>10} {'prices':>9} {'closes':>6} {'trades':>7} {'build s':>8} "
        f"{'cpu s':>7} {'child cpu':>9} {'acct/s':>8} {'peak RSS MB':>12}"
    )
    for n in args.accounts:
        path = Path(args.db_dir) / f"bench_demo_{n}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        database = Database(f"sqlite:///{path}")
        upgrade(database)
        phases = Phases()
        if args.phases:
            phases.install()
        t0, c0 = time.perf_counter(), time.process_time()
        k0 = resource.getrusage(resource.RUSAGE_CHILDREN)
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
        k1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # the quiet-days worker, once it ended
        child = k1.ru_utime + k1.ru_stime - k0.ru_utime - k0.ru_stime
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        h = build.history
        print(
            f"{n:>9,} {args.history_years:>5} {build.rows['tax_lots']:>10,} {build.rows['prices']:>9,} "
            f"{h.get('closes', 0):>6} {h.get('trades', 0):>7,} {secs:>8.1f} {cpu:>7.1f} {child:>9.1f} {n / secs:>8.0f} {peak:>12.0f}",
            flush=True,
        )
        if args.phases:
            phases.uninstall()
            print(phases.table(cpu, secs), flush=True)
        database.dispose()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
