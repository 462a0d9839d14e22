"""Benchmark: book corporate actions on a demo book (a copy; the book given is not changed).

Build a book once:  workstation --db sqlite:////tmp/corpact-10k.db demo --accounts 10000
Then:               python benchmarks/corporate.py --db sqlite:////tmp/corpact-10k.db

On the book's date it loads, as a vendor file would, a 3-for-2 split with cash in lieu on the
most widely held equity, a cash-and-stock merger (20% of the basis to the cash, fractions in
lieu) on the second, and a cash dividend on the third; then times finding the accounts they
suspend from rebalancing (engine.corporate.pending through the rebalance's universe), and
`book_due` (every lot, gain, booking, cash movement and audit entry written, one transaction).
Prints wall and CPU seconds with the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.corporate.book import book_due
from engine.corporate.entry import load
from engine.corporate.terms import ActionTerms
from engine.pricing.prices import last_prices
from engine.rebalance.book import book_as_of, load_accounts, load_universe
from engine.rebalance.prepare import suspension
from engine.store.database import Database
from engine.store.migrate import upgrade
from engine.store.positions import TaxLot
from engine.store.reference import Security

USER = "otto.ops"


def _timed(label: str, rows: list[list[str]], fn):  # type: ignore[no-untyped-def]
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    rows.append([label, f"{time.perf_counter() - w:.2f}", f"{time.process_time() - c:.2f}"])
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True, help="a demo book (SQLite URL); a copy is used")
    args = ap.parse_args()
    src = Path(args.db.removeprefix("sqlite:///"))
    tmp = Path(tempfile.mkdtemp()) / "book.db"
    shutil.copy(src, tmp)
    db = Database(f"sqlite:///{tmp}")
    upgrade(db)
    load0 = os.getloadavg()
    rows: list[list[str]] = []
    with db.session() as s:
        as_of = book_as_of(s)
        held = s.execute(
            select(
                Security.symbol, Security.currency, func.count(func.distinct(TaxLot.account_id)), func.count()
            )
            .join(TaxLot, TaxLot.security_id == Security.id)
            .where(Security.asset_class == "equity")
            .group_by(Security.id)
            .order_by(func.count(func.distinct(TaxLot.account_id)).desc())
        ).all()
        px = last_prices(s, as_of)
        symbols = dict(s.execute(select(Security.symbol, Security.id)).all())
    (a, _ca, na, la), (b, cb, nb, lb), (c, _, nc, lc) = held[:3]
    target = next(sym for sym, ccy, _, _ in held[3:] if ccy == cb)
    price = Decimal(repr(round(float(px["close"][symbols[a]]) / 1.5, 2)))
    terms = [
        ActionTerms("BENCH-SPLIT", "split", a, as_of, ratio_new=Decimal(3), ratio_old=Decimal(2), lieu_price=price),
        ActionTerms("BENCH-MERGER", "merger", b, as_of, ratio_new=Decimal("0.37"), ratio_old=Decimal(1),
                    amount=Decimal(5), new_security=target, allocation=Decimal("0.2"), lieu_price=Decimal(40)),
        ActionTerms("BENCH-DIV", "dividend", c, as_of, amount=Decimal("0.25")),
    ]  # fmt: skip

    def do_load() -> None:
        with db.transaction() as s:
            load(s, "bench.csv", [(i + 2, t) for i, t in enumerate(terms)], username=USER)

    _timed("load 3 actions", rows, do_load)

    def suspended() -> int:
        with db.session() as s:
            u = load_universe(s, as_of)
            accounts = load_accounts(s, u)
        return sum(1 for acc in accounts if any(i.kind == "corporate_action" for i in suspension(u, acc)))

    n_susp = _timed("universe + suspensions", rows, suspended)

    def book() -> object:
        with db.transaction() as s:
            return book_due(s, as_of, username=USER)

    res = _timed("book_due", rows, book)
    load1 = os.getloadavg()
    print(f"book {src.name}, as of {as_of}; {a}: {na} accounts/{la} lots, {b}: {nb}/{lb}, {c}: {nc}/{lc}")
    print(f"{'step':<24} {'wall s':>8} {'cpu s':>8}")
    for label, wall, cpu in rows:
        print(f"{label:<24} {wall:>8} {cpu:>8}")
    print(f"suspended before booking: {n_susp} accounts")
    for o in res.booked:  # type: ignore[attr-defined]
        print(f"  {o.ref}: {o.accounts} accounts, {o.lots} lots, {o.realized} gains, cash {dict(o.cash)}")
    for ref, why in res.failed:  # type: ignore[attr-defined]
        print(f"  NOT BOOKED {ref}: {why}")
    print(f"load average before {load0[0]:.2f}, after {load1[0]:.2f}")
    db.dispose()
    shutil.rmtree(tmp.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
