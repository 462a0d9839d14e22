"""One order's pre-trade check on the demo book: the scoped book (engine.compliance.scope) against
the full book, and `OrderManager.create` (the real controls of engine.compose) around it.

Builds the SIMULATED demo book into a scratch SQLite file (or uses `--db`), then for one account's
single orders prints CPU and wall milliseconds (median of `--orders`), the accounts and
securities each book holds, and the load average. Every order gets a new quantity, so no
duplicate-order flag opens an approval case (which would check it a second time).

Usage: .venv/bin/python benchmarks/single_order_check.py [--accounts 200] [--orders 10] [--db URL]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

import resources  # noqa: E402
from engine.compliance.book import book_as_of, load_book  # noqa: E402
from engine.compliance.checker import run_check  # noqa: E402
from engine.compose import build_order_manager  # noqa: E402
from engine.demo.build import build_demo_book  # noqa: E402
from engine.oms.drafts import OrderDraft  # noqa: E402
from engine.oms.tables import Order  # noqa: E402
from engine.ports import OrderIntent  # noqa: E402
from engine.store.accounts import Account  # noqa: E402
from engine.store.database import Database  # noqa: E402
from engine.store.migrate import upgrade  # noqa: E402
from engine.store.positions import TaxLot  # noqa: E402
from engine.store.reference import Security  # noqa: E402


def timed(fn: Callable[[], object], n: int) -> tuple[float, float]:
    """Median CPU and wall milliseconds of `n` calls (after one warm-up call)."""
    fn()
    cpu, wall = [], []
    for _ in range(n):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return statistics.median(cpu), statistics.median(wall)


def load_share(fn: Callable[[], object], n: int) -> float:
    """The share of profiled time spent in engine.compliance.book.load_book."""
    pr = cProfile.Profile()
    for _ in range(n):
        pr.enable()
        fn()
        pr.disable()
    st = pstats.Stats(pr)
    inside = sum(v[3] for (f, _l, name), v in st.stats.items() if name == "load_book" and "compliance" in f)  # type: ignore[attr-defined]
    return inside / st.total_tt  # type: ignore[attr-defined]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=200)
    ap.add_argument("--orders", type=int, default=10)
    ap.add_argument("--db", help="an existing demo book (default: build one into a scratch file)")
    args = ap.parse_args()
    if args.db:
        database = Database(args.db)
    else:
        path = Path(tempfile.mkdtemp(prefix="single-check-")) / "demo.db"
        database = Database(f"sqlite:///{path}")
        upgrade(database)
        build_demo_book(
            database, resources.path("reference"), accounts=args.accounts, today=date(2026, 11, 22)
        )
    with database.session() as s:
        account, symbol = s.execute(
            select(Account.code, Security.symbol)
            .join(TaxLot, TaxLot.account_id == Account.id)
            .join(Security, Security.id == TaxLot.security_id)
            .order_by(Account.id, Security.id)
            .limit(1)
        ).one()
        n_accounts = s.scalar(select(func.count()).select_from(Account))
        as_of = book_as_of(s)
        held = int(
            s.scalar(
                select(func.sum(TaxLot.quantity))
                .join(Account, Account.id == TaxLot.account_id)
                .join(Security, Security.id == TaxLot.security_id)
                .where(Account.code == account, Security.symbol == symbol)
            )
        )
        recent = {
            int(q)
            for q in s.scalars(
                select(Order.quantity).where(Order.created_at >= datetime.now(UTC) - timedelta(minutes=2))
            )
        }
    # sells the account can cover, each quantity new (no duplicate-order flag, no short sale)
    sizes = iter([q for q in range(1, held) if q not in recent] * 10)
    outcomes: Counter[str] = Counter()

    def intent() -> OrderIntent:
        return OrderIntent(account, symbol, "sell", Decimal(next(sizes)))

    def scoped() -> object:
        with database.session() as s:
            return run_check(s, [intent()])

    def full() -> object:
        with database.session() as s:
            return run_check(s, [intent()], book=load_book(s, as_of))

    oms = build_order_manager(database)

    def create() -> object:
        (oid,) = oms.create([OrderDraft(account, symbol, "sell", Decimal(next(sizes)))], "tara.trader")
        with database.session() as s:
            outcomes[str(s.get(Order, oid).status)] += 1  # type: ignore[union-attr]
        return oid

    with database.session() as s:
        small = run_check(s, [intent()]).book
        big = load_book(s, as_of)
    print(f"demo book: {n_accounts} accounts; one order: {account} sells {symbol}; {args.orders} orders each")
    print(f"{'path':<34} {'CPU ms':>8} {'wall ms':>8} {'accounts':>9} {'securities':>11} {'load_book':>10}")
    rows = (
        ("run_check, full book", full, big),
        ("run_check, scoped book", scoped, small),
        ("OrderManager.create (scoped)", create, small),
    )
    for name, fn, book in rows:
        cpu, wall = timed(fn, args.orders)
        share = load_share(fn, max(3, args.orders // 2))
        print(
            f"{name:<34} {cpu:>8.0f} {wall:>8.0f} {book.n_accounts:>9} {book.n_securities:>11} {share:>9.0%}"
        )
    print("orders created: " + ", ".join(f"{n} {status}" for status, n in sorted(outcomes.items())))
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
