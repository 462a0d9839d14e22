"""Where a household run's CPU goes: the first N accounts solved inline, CPU by phase.

Usage:
    python benchmarks/household_profile.py --db sqlite:////tmp/household-10k.db [--accounts 1500]
        [--no-skip] [--save]

Each phase's functions are wrapped with a `time.process_time` timer (about a microsecond per
call; cProfile's overhead inflated the Python-heavy phases two- to five-fold): the read of the
accounts (load), preparing each account's arrays, building the Clarabel data, Clarabel itself
(setup + solve), rounding, the exact checks, the records, the household's figures, and, with
--save, writing the proposals. A call inside another phase counts for the outer one. `other` is
the rest (Python glue, styles, direction bookkeeping). Groups are created as in
bulk_rebalance.py --households (`blend`, every household with more than one account).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from household_bench import ensure_groups
from sqlalchemy import select

import engine.rebalance.household_qp as hq
import engine.rebalance.household_solve as hs
import engine.rebalance.qp as qp
import engine.rebalance.solve as so
from engine.rebalance import bulk
from engine.rebalance.settings import RebalanceSettings
from engine.store.accounts import Account
from engine.store.database import Database

CPU: dict[str, float] = {}
CALLS: dict[str, int] = {}
_depth = [0]


def timed(phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kw: Any) -> Any:
        if _depth[0]:
            return fn(*args, **kw)
        _depth[0] += 1
        t0 = time.process_time()
        try:
            return fn(*args, **kw)
        finally:
            CPU[phase] = CPU.get(phase, 0.0) + time.process_time() - t0
            CALLS[phase] = CALLS.get(phase, 0) + 1
            _depth[0] -= 1

    return wrapper


class _Clarabel:
    """The clarabel module as household_qp and qp see it, with setup + solve timed as one phase."""

    def __init__(self) -> None:
        import clarabel

        for name in dir(clarabel):
            if not name.startswith("_"):
                setattr(self, name, getattr(clarabel, name))
        real = clarabel.DefaultSolver

        def make(*args: Any) -> Any:
            class Run:
                def __init__(self) -> None:
                    self.solver = timed("Clarabel setup+solve", lambda: real(*args))()

                def update(self, **kw: Any) -> Any:
                    return timed("Clarabel setup+solve", lambda: self.solver.update(**kw))()

                def solve(self) -> Any:
                    return timed("Clarabel setup+solve", lambda: self.solver.solve())()

            return Run()

        self.DefaultSolver = make


def instrument() -> None:
    hq.clarabel = qp.clarabel = _Clarabel()  # type: ignore[assignment]
    patches = [
        ("prepare accounts", hs, "prepare_all"),
        ("prepare accounts", so, "prepare"),
        ("build household QP", hq, "build_household_qp"),
        ("build account QP", qp, "build_qp"),
        ("rounding", hs, "round_trades"),
        ("rounding", so, "round_trades"),
        ("exact check", hs, "check_rounded"),
        ("exact check", so, "check_rounded"),
        ("records", hs, "build_record"),
        ("records", so, "build_record"),
        ("household figures", hs, "after_figures"),
        ("household figures", hs, "aggregate_te"),
    ]
    for phase, mod, name in patches:
        setattr(mod, name, timed(phase, getattr(mod, name)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--accounts", type=int, default=1500)
    ap.add_argument("--no-skip", action="store_true")
    ap.add_argument("--save", action="store_true", help="write the proposals too (persist)")
    ap.add_argument("--user", default="pat.pm")
    args = ap.parse_args()
    db = Database(args.db)
    with db.session() as s:
        ids = list(s.scalars(select(Account.id).order_by(Account.id)))[: args.accounts]
    ensure_groups(db, ids, args.user)
    settings = RebalanceSettings(households=True, skip_in_band=not args.no_skip)
    instrument()
    load = timed("load accounts (DB read)", bulk.load_run)
    persist = timed("persist proposals (DB write)", bulk.persist)
    c0, w0 = time.process_time(), time.perf_counter()
    u, accounts = load(db, ids, settings)
    ctx = so.Context(u, settings)
    recs = []
    for chunk in bulk.batches(accounts):
        got = bulk.run_batch(ctx, chunk)
        if args.save:
            persist(db, "profile", got, args.user, str(settings.mode))
        recs += got
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    solved = sum(r.get("rung") not in ("in-band", None) for r in recs)
    rungs: dict[str, int] = {}
    for r in recs:
        rungs[str(r.get("rung"))] = rungs.get(str(r.get("rung")), 0) + 1
    print(f"{len(recs)} accounts, {solved} solved; cpu {cpu:.1f} s, wall {wall:.1f} s; rungs {rungs}")
    print(f"{'phase':32} {'cpu s':>8} {'ms/solved':>10} {'share':>7} {'calls':>8}")
    rows = [*CPU.items(), ("other (glue, styles, directions)", cpu - sum(CPU.values()))]
    for name, sec in rows:
        ms = sec / max(solved, 1) * 1000
        print(f"{name:32} {sec:8.2f} {ms:10.2f} {sec / cpu:7.1%} {CALLS.get(name, 0):8d}")
    print(f"load average (1/5/15 min): {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
