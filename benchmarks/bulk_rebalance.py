"""Bulk rebalance benchmark: wall time, accounts/s, per-account ms percentiles, memory, rungs.

Usage:
    python benchmarks/bulk_rebalance.py --db sqlite:////tmp/bench10k_rb.db [--accounts 1000 10000]
        [--workers 2] [--executor process] [--mode full] [--no-skip] [--households] [--tax-alpha]

--households groups every household of the chosen accounts that has more than one account
(target blend, created by --user if missing) and solves them together; the table then also
shows CPU per solved account and a bare Clarabel solve of the same problems (same run, same
process: only `clarabel.DefaultSolver(...).solve()` on the data the run builds, for a sample of
the solved accounts). --tax-alpha solves the same accounts twice without saving, household
groups together and account by account, and prints each household's estimated tax (netted
against its year) and aggregate tracking error for both.

Build the books once first, e.g. `workstation --db sqlite:////tmp/bench10k_rb.db demo --accounts 10000`.
With --accounts N the first N accounts (by id) of the book are rebalanced. End to end: load
(positions, prices, FX, risk model), solve, round, check and persist proposals. Peak memory is
the max RSS of this process and of its worker processes (resource.getrusage). CPU s is user plus
system time of this process and its (finished) worker processes during the run.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from household_bench import bare_cpu_per_account, ensure_groups, tax_alpha
from sqlalchemy import select

from engine.rebalance.bulk import run_bulk
from engine.rebalance.run_inputs import load_run
from engine.rebalance.settings import Mode, RebalanceSettings
from engine.store.accounts import Account
from engine.store.database import Database


def cpu_seconds() -> float:
    """User + system CPU of this process and its waited-for children (the pool's workers)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--accounts", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--executor", default="process")
    ap.add_argument("--mode", default="full", choices=[m.value for m in Mode])
    ap.add_argument("--no-skip", action="store_true", help="solve in-band accounts too")
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--households", action="store_true", help="solve household groups together")
    ap.add_argument("--tax-alpha", action="store_true", help="household vs account-by-account, same accounts")
    ap.add_argument("--bare-sample", type=int, default=300, help="solved accounts timed in the bare solve")
    ap.add_argument(
        "--user",
        default="pat.pm",
        help="who creates the saved proposals (needs rebalance.run; the demo book's PM)",
    )
    args = ap.parse_args()
    db = Database(args.db)
    with db.session() as s:
        all_ids = list(s.scalars(select(Account.id).order_by(Account.id)))
    settings = RebalanceSettings(
        mode=Mode(args.mode), skip_in_band=not args.no_skip, households=args.households
    )
    rows = []
    for n in args.accounts:
        ids = all_ids[:n]
        if len(ids) < n:
            print(f"book has only {len(all_ids)} accounts; skipping {n}", file=sys.stderr)
            continue
        if args.households or args.tax_alpha:
            made = ensure_groups(db, ids, args.user)
            print(f"{made} household group(s) created for {n} accounts", file=sys.stderr)
        if args.tax_alpha:
            tax_alpha(db, settings, ids)
            continue
        t0 = time.perf_counter()
        c0 = cpu_seconds()
        res = run_bulk(
            db,
            settings,
            ids,
            executor=args.executor,
            workers=args.workers,
            save=not args.no_save,
            user=args.user,
        )
        wall = time.perf_counter() - t0
        cpu = cpu_seconds() - c0
        s = res.summary
        solved = [r["solve_ms"] for r in res.records if r.get("rung") not in ("in-band", None)]
        per_acct = bare = float("nan")
        if args.households and solved:
            per_acct = cpu / len(solved)
            u, accounts = load_run(db, ids, settings)
            bare = bare_cpu_per_account(u, settings, accounts, res.records, args.bare_sample)
        rows.append(
            (
                n,
                f"{wall:.1f}",
                f"{cpu:.1f}",
                f"{res.load_seconds:.1f}",
                f"{n / wall:.0f}",
                f"{s['ms_p50']:.1f}",
                f"{s['ms_p95']:.1f}",
                f"{s['ms_p99']:.1f}",
                f"{s['ms_max']:.0f}",
                f"{(sorted(solved)[len(solved) // 2] if solved else 0):.1f}",
                f"{max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024:.0f}",
                f"{s['ok']}/{s['infeasible']}/{s['failed']}",
                f"{per_acct * 1000:.1f}",
                f"{bare * 1000:.1f}",
                " ".join(f"{k}:{v}" for k, v in s["rungs"].items()),
            )
        )
        print(f"done {n}: " + " | ".join(map(str, rows[-1])), file=sys.stderr, flush=True)
    head = (
        "accounts",
        "wall s",
        "cpu s",
        "load s",
        "acct/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "p50 solved",
        "peak MB",
        "ok/inf/fail",
        "cpu ms/solved",
        "bare ms/solved",
        "rungs",
    )
    if not rows:
        print(f"load average (1/5/15 min): {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        return 0
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    print("  ".join(h.rjust(w) for h, w in zip(head, widths)))
    for r in rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(r, widths)))
    print(
        f"executor={args.executor} workers={args.workers} mode={args.mode} skip_in_band={not args.no_skip} "
        f"households={args.households}"
    )
    print(f"load average (1/5/15 min): {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
