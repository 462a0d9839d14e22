"""How long compliance takes to check 100,000 orders over 10,000 accounts against 20 rules.

Build the book once (about a minute):
    python -m workstation.cli.main --db sqlite:////tmp/bench10k_cp.db demo --accounts 10000
then run:
    python benchmarks/compliance.py [--db URL] [--orders 100000] [--rules 20]

Prints a table: loading the book snapshot, the check itself (all rules, all orders, post-trade
projection), writing the sentences of every non-passing result, and the whole run; with
throughput and peak memory. The target (issue 5) is a check under 2 s.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.compliance.book import load_book
from engine.compliance.checker import evaluate
from engine.compliance.posttrade import scan
from engine.compliance.projection import prepare_orders
from engine.compliance.rules import rules_in_force
from engine.ports import OrderIntent
from engine.store.database import Database
from engine.store.migrate import upgrade


def make_orders(book, n: int, seed: int = 7) -> list[OrderIntent]:  # type: ignore[no-untyped-def]
    """Random orders: buys of any security, sells of held positions; a quarter are limit orders."""
    rng = np.random.default_rng(seed)
    accts = book.acct["code"].to_numpy()
    syms = book.sec["symbol"].to_numpy()
    price = book.sec["price"].to_numpy()
    priced = np.flatnonzero(np.isfinite(price))
    a = rng.integers(0, len(accts), n)
    sell = rng.random(n) < 0.4
    pick = rng.integers(0, len(book.pos_a), n)
    s = np.where(sell, book.pos_s[pick], priced[rng.integers(0, len(priced), n)])
    a = np.where(sell, book.pos_a[pick], a)
    q = np.maximum(1, np.round(np.where(sell, book.pos_q[pick] * rng.random(n), rng.integers(1, 500, n))))
    limit = rng.random(n) < 0.25
    lp = price[s] * (1 + rng.normal(0, 0.04, n))
    return [
        OrderIntent(
            str(accts[a[i]]),
            str(syms[s[i]]),
            "sell" if sell[i] else "buy",
            Decimal(int(q[i])),
            "limit" if limit[i] else "market",
            Decimal(f"{lp[i]:.4f}") if limit[i] else None,
            ref=f"B{i}",
        )
        for i in range(n)
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default="sqlite:////tmp/bench10k_cp.db")
    ap.add_argument("--orders", type=int, default=100_000)
    ap.add_argument("--rules", type=int, default=20)
    args = ap.parse_args()
    database = Database(args.db)
    upgrade(database)
    rows = []
    with database.session() as session:
        t0 = time.perf_counter()
        book = load_book(session)
        t_load = time.perf_counter() - t0
        rules = rules_in_force(session, book.as_of)[: args.rules]
        intents = make_orders(book, args.orders)
        t1 = time.perf_counter()
        orders = prepare_orders(book, intents)
        t_prep = time.perf_counter() - t1
        t2 = time.perf_counter()
        run = evaluate(session, book, orders, rules, datetime.now(UTC))
        codes = run.order_codes
        t_check = time.perf_counter() - t2
        t3 = time.perf_counter()
        hits = np.argwhere(run.codes > 0)
        sentences = [run.evals[r].describe(int(i)) for r, i in hits]
        t_msg = time.perf_counter() - t3
        t4 = time.perf_counter()
        breaches = scan(book, rules_in_force(session, book.as_of), session)
        t_book = time.perf_counter() - t4

    n = len(intents)
    na = len(set(int(x) for x in orders.a))
    rows.append(
        ("load book snapshot", t_load, f"{book.n_accounts:,} accounts, {len(book.pos_a):,} positions")
    )
    rows.append(("validate orders", t_prep, f"{n / t_prep:,.0f} orders/s"))
    rows.append(
        (
            f"check {n:,} orders x {len(rules)} rules",
            t_check,
            f"{n / t_check:,.0f} orders/s, {n * len(rules) / t_check:,.0f} rule results/s",
        )
    )
    rows.append(
        (f"write {len(sentences):,} non-pass sentences", t_msg, f"{len(sentences) / max(t_msg, 1e-9):,.0f}/s")
    )
    rows.append(
        ("post-trade check of the whole book", t_book, f"{len(breaches):,} breaches, all rules in force")
    )
    print(f"compliance benchmark: {n:,} orders over {na:,} accounts, {len(rules)} rules, as of {book.as_of}")
    print(f"{'step':<42} {'wall s':>8}  note")
    print("-" * 100)
    for name, secs, note in rows:
        print(f"{name:<42} {secs:>8.3f}  {note}")
    print("-" * 100)
    counts = np.bincount(codes, minlength=4)
    print(f"outcomes: pass {counts[0]:,}  warn {counts[1]:,}  flag {counts[2]:,}  block {counts[3]:,}")
    print(f"rules: {', '.join(r.code for r in rules)}")
    print(
        f"peak memory (max RSS of the process) {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB"
    )
    print(f"target: check < 2 s -> {'MET' if t_check < 2 else 'NOT MET'} ({t_check:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
