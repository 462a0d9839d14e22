"""Benchmark: client statements in bulk (`workstation statements`), N accounts of a demo book.

Build the book once:  workstation --db sqlite:////tmp/statements10k.db demo --accounts 10000
Then:  python benchmarks/statements.py --db sqlite:////tmp/statements10k.db [--accounts 1000] [--workers 2]

Runs the same path as the CLI (engine.statements.service.plan, engine.statements.run.generate:
batches of whole households, each built with a few queries and drawn in a spawned worker
process) into a scratch folder, then prints statements per second, the estimate for 10,000
accounts, the CPU seconds of the workers (build and draw), and peak memory (parent and the
largest worker), with the load average before and after: on a shared machine wall time grows
with the load, CPU seconds much less. `--profile` also splits one batch's CPU time into
building the data and drawing the PDFs, in this process.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select

from engine.statements.build import build_batch
from engine.statements.pdf import account_flowables, render
from engine.statements.period import parse_period
from engine.statements.run import generate
from engine.statements.service import plan
from engine.store.accounts import Account
from engine.store.database import Database


def open_reader(url: str) -> Database:
    return Database(url)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default="sqlite:////tmp/statements10k.db")
    ap.add_argument("--accounts", type=int, default=1000, help="the first N accounts by code")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--period", default="2026Q3")
    ap.add_argument("--profile", action="store_true", help="also time one batch's build and draw here")
    args = ap.parse_args()
    db = open_reader(args.db)
    out = Path(tempfile.mkdtemp(prefix="bench-statements-"))
    with db.session() as s:
        codes = list(s.scalars(select(Account.code).order_by(Account.code).limit(args.accounts)))
        user = "olga.ops"
        _, jobs = plan(s, user, args.period, out, accounts=codes, url=args.db, size=args.batch)
    # --account lists no households; time the household statements as --all would write them
    print(f"load average before: {_load()}  (cores: {os.cpu_count()})")
    if args.profile:
        with db.session() as s:
            ids = list(jobs[0].account_ids)
            c0 = time.process_time()
            docs = build_batch(s, ids, parse_period(args.period))
            c1 = time.process_time()
            for d in docs:
                if "skipped" not in d:
                    render(account_flowables(d), "x")
            c2 = time.process_time()
        n = sum(1 for d in docs if "skipped" not in d)
        print(f"one batch of {len(ids)} accounts in this process: build {c1 - c0:.2f} CPU s "
              f"({(c1 - c0) / len(ids) * 1000:.0f} ms/account), draw {c2 - c1:.2f} CPU s "
              f"({(c2 - c1) / max(n, 1) * 1000:.0f} ms/statement)")  # fmt: skip
    t0, c0 = time.perf_counter(), time.process_time()
    results = generate(open_reader, jobs, args.workers)
    wall, cpu_here = time.perf_counter() - t0, time.process_time() - c0
    written = [r for r in results if "file" in r]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    me = resource.getrusage(resource.RUSAGE_SELF)
    rate = len(written) / wall
    cpu = children.ru_utime + children.ru_stime + (cpu_here if args.workers <= 1 else 0.0)
    ideal = cpu / len(written) * 10000 / args.workers if written else float("nan")
    rows = [
        ("accounts", f"{len(results)}"),
        ("statements written", f"{len(written)} ({sum(r['pages'] for r in written)} pages, "
                               f"{sum(r['bytes'] for r in written) / 1e6:.1f} MB)"),
        ("skipped", f"{sum(1 for r in results if 'skipped' in r)}"),
        ("workers", f"{args.workers} (batches of {args.batch})"),
        ("wall", f"{wall:.1f} s"),
        ("statements per second", f"{rate:.1f}"),
        ("10,000 statements (estimate)", f"{10000 / rate / 60:.1f} min"),
        ("CPU (workers, or here with 1)", f"{cpu:.1f} s ({cpu / max(len(written), 1) * 1000:.0f} ms/statement)"),
        (f"10,000 on {args.workers} idle cores (CPU)", f"{ideal / 60:.1f} min"),
        ("peak memory, parent", f"{me.ru_maxrss / 1024:.0f} MB"),
        ("peak memory, largest worker", f"{children.ru_maxrss / 1024:.0f} MB"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    print(f"load average after: {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
