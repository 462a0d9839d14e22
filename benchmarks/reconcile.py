"""Benchmark: reconcile a 10,000-account demo book (about 1.1M positions) at three custodians.

Build the book once:  workstation --db sqlite:////tmp/bench10k_rc.db demo --accounts 10000
Then:                 python benchmarks/reconcile.py [--db URL] [--out DIR] [--breaks 0.01]

Steps timed separately: writing the simulated statements (generic CSV, CSV profile, ISO 20022),
parsing and storing them, and the reconciliation run itself (read statements and book, match,
store breaks), plus the pure in-memory match. Prints wall and CPU time, rows per CPU second,
peak memory (max RSS), the load average before and after, and precision/recall against the
generator's answer key. On a machine shared with other jobs compare CPU seconds: wall time
grows with the load average.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.custodian.load import load_files
from connectors.custodian.profile import profile_for
from connectors.custodian.read import read_statement
from engine.demo.custodian_files import CUSTODIANS, write_custodian_files
from engine.errors import NotFound
from engine.pricing.fx import FxTable
from engine.pricing.prices import last_prices
from engine.reconcile.book import load_book
from engine.reconcile.coverage import coverage
from engine.reconcile.match import concat_columns, frame_of, match_cash, position_columns
from engine.reconcile.run import _persist, latest_lines, reconcile, summarize
from engine.reconcile.securities import identifier_table, resolve, resolve_announced_isins
from engine.store.database import Database
from engine.store.migrate import upgrade

OPS = "ada.admin"  # the demo admin: reconcile.load and reconcile.run
PATTERNS = dict(zip(CUSTODIANS, ("sim-custodian-a_*", "sim-custodian-b_*", "sim-custodian-c_*")))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Clock:
    """Wall and CPU seconds of a step (CPU time shows the work on a machine shared with others)."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="sqlite:////tmp/bench10k_rc.db")
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench_rc_files"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--breaks", type=float, default=0.01)
    ap.add_argument(
        "--skip-load", action="store_true", help="statements already written and loaded: time the runs only"
    )
    args = ap.parse_args()
    load_before = Path("/proc/loadavg").read_text().strip()
    database = Database(args.db)
    upgrade(database)
    rows: list[tuple[str, Clock, int]] = []
    total_lines = 0
    if not args.skip_load:
        shutil.rmtree(args.out, ignore_errors=True)
        with Clock() as c:
            write_custodian_files(database, args.out, args.seed, args.breaks)
        rows.append(("write simulated statements (3 custodians)", c, 0))
    for cust, pattern in PATTERNS.items() if not args.skip_load else ():
        files = sorted(args.out.glob(pattern))
        for f in files:
            with Clock() as c:
                p = read_statement(f, profile_for(cust))
            mb = f.stat().st_size / 1e6
            rows.append((f"parse {f.name} ({p.statement.format}, {mb:.0f} MB)", c, p.statement.lines))
        n = sum(r[2] for r in rows if r[0].startswith(f"parse {cust.lower()}"))
        with Clock() as c:
            load_files(database, files, cust, loaded_by=OPS)  # parses again, then stores (idempotent by hash)
        rows.append((f"parse + store {cust}", c, n))
        total_lines += n
    as_of = None
    with database.session() as s:
        from engine.store.meta import BookMeta

        as_of = date.fromisoformat(s.get(BookMeta, "as_of").value)  # type: ignore[union-attr]
    with Clock() as c, database.transaction() as s:
        result = reconcile(s, as_of, run_by=OPS)
    rows.append(("RECONCILE RUN (read, match, store breaks)", c, len(result.results)))
    # The same run again (statements and breaks already there: the daily re-run case).
    with Clock() as c, database.transaction() as s:
        reconcile(s, as_of, run_by=OPS)
    rows.append(("reconcile run again (breaks updated)", c, len(result.results)))
    # The run's steps one by one, on the same session (breaks stored, then rolled back).
    with database.session() as s:
        with Clock() as c:
            pos = latest_lines(s, as_of, "positions")
            cash = latest_lines(s, as_of, "cash")
        rows.append(("  read statement lines", c, len(pos) + len(cash)))
        with Clock() as c:
            book = load_book(s, as_of, list(CUSTODIANS))
            prices = last_prices(s, as_of)["close"]
            try:
                fx = FxTable.load(s, start=as_of, end=as_of)
            except NotFound:
                fx = None
            table = identifier_table(s)
        rows.append(("  read book (lots, pending, cash, actions, prices, ids)", c, len(book.positions)))
        with Clock() as c:
            sid = resolve(table, pos["id_type"], pos["security_ref"])
            pos["security_id"], pos["via_action"] = resolve_announced_isins(
                book.renames, pos["id_type"], pos["security_ref"], sid
            )
            cover = coverage(book, pos, cash, as_of)
            mp = position_columns(book, pos, cover.positions, as_of, prices, fx)
            mc = match_cash(book, cash, cover.cash)
            results = frame_of(concat_columns([mp, {k: mc[k].to_numpy() for k in mc.columns}]))
            summary = summarize(results)
        rows.append(("  match in memory (resolve, positions, cash, summary)", c, len(results)))
        with Clock() as c:
            _persist(s, as_of, list(CUSTODIANS), results, cover, OPS)
            s.flush()
        rows.append(("  store breaks", c, int((results["outcome"] != "matched").sum())))
        s.rollback()
    del summary
    total_lines = total_lines or len(pos) + len(cash)
    key = pd.read_csv(args.out / "answer_key.csv", dtype=str)
    b = result.breaks
    what = b["security_ref"].where(
        b["measure"].eq("quantity") | b["break_type"].eq("valuation"), b["currency"]
    )
    got = set(zip(b["custodian"], b["account_code"], what, b["break_type"]))
    want = set(map(tuple, key.to_numpy().tolist()))
    tp = len(got & want)
    print(
        f"\nreconcile benchmark: {len(book.accounts):,} accounts, {len(book.positions):,} book positions, "
        f"{total_lines:,} statement lines, as of {as_of}\n"
    )
    print(f"{'step':<58} {'wall s':>8} {'cpu s':>8} {'rows':>11} {'rows/cpu s':>11}")
    for name, c, n in rows:
        print(f"{name:<58} {c.wall:8.2f} {c.cpu:8.2f} {n:11,} {(n / c.cpu if n and c.cpu else 0):11,.0f}")
    print(
        f"\npeak memory (max RSS): {rss_mb():,.0f} MB; load average before: {load_before}; "
        f"after: {Path('/proc/loadavg').read_text().strip()}"
    )
    s = result.summary[["matched", "explained", "open"]].sum()
    print(
        f"outcomes: {int(s['matched']):,} matched, {int(s['explained']):,} explained, {int(s['open']):,} open"
    )
    print(
        f"answer key: {len(want):,} lines; precision {tp / max(len(got), 1):.2%}, recall {tp / max(len(want), 1):.2%}"
    )


if __name__ == "__main__":
    main()
