"""Benchmark: reconcile a 10,000-account demo book (about 1.1M positions) at three custodians.

Build the book once:  workstation --db sqlite:////tmp/bench10k_rc.db demo --accounts 10000
Then:                 python benchmarks/reconcile.py [--db URL] [--out DIR] [--breaks 0.01]

Steps timed separately: writing the simulated statements (generic CSV, CSV profile, ISO 20022),
parsing and storing them, and the reconciliation run itself (read statements and book, match,
store breaks), plus the pure in-memory match. Prints wall time, rows per second, peak memory
(max RSS), and precision/recall against the generator's answer key.
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
from engine.reconcile.match import match_cash, match_positions
from engine.reconcile.run import latest_lines, reconcile
from engine.reconcile.securities import identifier_table, resolve
from engine.store.database import Database
from engine.store.migrate import upgrade

PATTERNS = dict(zip(CUSTODIANS, ("sim-custodian-a_*", "sim-custodian-b_*", "sim-custodian-c_*")))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
    database = Database(args.db)
    upgrade(database)
    rows: list[tuple[str, float, int]] = []
    total_lines = 0
    if not args.skip_load:
        shutil.rmtree(args.out, ignore_errors=True)
        t = time.perf_counter()
        write_custodian_files(database, args.out, args.seed, args.breaks)
        rows.append(("write simulated statements (3 custodians)", time.perf_counter() - t, 0))
    for cust, pattern in PATTERNS.items() if not args.skip_load else ():
        files = sorted(args.out.glob(pattern))
        t = time.perf_counter()
        parsed = [read_statement(f, profile_for(cust)) for f in files]
        n = sum(p.statement.lines for p in parsed)
        rows.append(
            (f"parse {cust} ({', '.join(p.statement.format for p in parsed)})", time.perf_counter() - t, n)
        )
        t = time.perf_counter()
        load_files(database, files, cust)  # parses again, then stores (idempotent by hash)
        rows.append((f"parse + store {cust}", time.perf_counter() - t, n))
        total_lines += n
    as_of = None
    with database.session() as s:
        from engine.store.meta import BookMeta

        as_of = date.fromisoformat(s.get(BookMeta, "as_of").value)  # type: ignore[union-attr]
    t = time.perf_counter()
    with database.transaction() as s:
        result = reconcile(s, as_of)
    run_s = time.perf_counter() - t
    rows.append(("RECONCILE RUN (read, match, store breaks)", run_s, len(result.results)))
    # The same run again (statements and breaks already there: the daily re-run case).
    t = time.perf_counter()
    with database.transaction() as s:
        reconcile(s, as_of)
    rows.append(("reconcile run again (breaks updated)", time.perf_counter() - t, len(result.results)))
    # Pure in-memory matching, frames already read.
    with database.session() as s:
        t = time.perf_counter()
        pos = latest_lines(s, as_of, "positions")
        cash = latest_lines(s, as_of, "cash")
        rows.append(("  read statement lines", time.perf_counter() - t, len(pos) + len(cash)))
        t = time.perf_counter()
        book = load_book(s, as_of, list(CUSTODIANS))
        rows.append(("  read book (lots, pending, cash)", time.perf_counter() - t, len(book.positions)))
        prices = last_prices(s, as_of)["close"]
        try:
            fx = FxTable.load(s, start=as_of, end=as_of)
        except NotFound:
            fx = None
        table = identifier_table(s)
    ids = dict(zip(book.accounts["account_code"], book.accounts["account_id"]))
    t = time.perf_counter()
    pos["account_id"] = pos["account_code"].map(ids)
    pos["security_id"] = resolve(table, pos["id_type"], pos["security_ref"])
    cash["account_id"] = cash["account_code"].map(ids)
    mp = match_positions(book, pos, book.accounts, as_of, prices, fx)
    mc = match_cash(book, cash, book.accounts)
    rows.append(("  match in memory (resolve, positions, cash)", time.perf_counter() - t, len(mp) + len(mc)))
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
    print(f"{'step':<52} {'seconds':>9} {'rows':>11} {'rows/s':>11}")
    for name, sec, n in rows:
        print(f"{name:<52} {sec:9.2f} {n:11,} {(n / sec if n and sec else 0):11,.0f}")
    print(f"\npeak memory (max RSS): {rss_mb():,.0f} MB")
    s = result.summary[["matched", "explained", "open"]].sum()
    print(
        f"outcomes: {int(s['matched']):,} matched, {int(s['explained']):,} explained, {int(s['open']):,} open"
    )
    print(
        f"answer key: {len(want):,} lines; precision {tp / max(len(got), 1):.2%}, recall {tp / max(len(want), 1):.2%}"
    )


if __name__ == "__main__":
    main()
