"""Transaction cost analysis at the scale of a busy day: the arrival marks of a route, the fill
intervals and market prints the OMS takes after the fills, and the best-execution report.

Builds a scratch SQLite book (tests' mini book: 3 accounts, 3 securities), N final orders with
3 fills each, then times `mark_arrivals` (one route of N orders), `capture_intervals` (N orders,
the SIMULATED tape's prints over each 0.5 s interval) and `tca_report` (N orders), and prints a
table with the load average (the machine is shared: say "loaded" when it is).

Usage: .venv/bin/python benchmarks/tca.py [--orders 5000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

import resources  # noqa: E402
from connectors.broker_sim.tape import SimulatedTape  # noqa: E402
from engine.access.users import create_user  # noqa: E402
from engine.oms.marks import capture_intervals, mark_arrivals  # noqa: E402
from engine.oms.tables import Execution, Order  # noqa: E402
from engine.store.accounts import Account  # noqa: E402
from engine.store.database import Database  # noqa: E402
from engine.store.migrate import upgrade  # noqa: E402
from engine.store.reference import Security  # noqa: E402
from engine.store.reference_seed import seed_reference  # noqa: E402
from engine.tca.report import tca_report  # noqa: E402
from tests.engine.oms.book import make_book  # noqa: E402

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, default=5000)
    args = ap.parse_args()
    n = args.orders
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'tca.db'}"
        db = Database(url)
        upgrade(db)
        with db.transaction() as s:
            seed_reference(s, resources.path("reference"))
        make_book(db)
        with db.transaction() as s:
            create_user(s, None, "ad1", "Admin", "admin", "admin password 1")
            aapl = s.scalar(select(Security.id).where(Security.symbol == "AAPL"))
            acc = s.scalar(select(Account.id).where(Account.code == "ACC1"))
            orders = []
            for i in range(n):
                o = Order(cl_ord_id=f"B{i}", account_id=acc, security_id=aapl, side="buy" if i % 2 else "sell",
                          quantity=Decimal(300), order_type="market", time_in_force="day", currency="USD",
                          broker=f"BRK{i % 3}", status="filled", created_by=f"tr{i % 4}", sent_at=T0)  # fmt: skip
                orders.append(o)
            s.add_all(orders)
            s.flush()
            for o in orders:
                for k in range(3):
                    at = T0 + timedelta(seconds=o.id * 0.001 + k * 0.25)
                    s.add(Execution(order_id=o.id, broker=o.broker, exec_id=f"{o.cl_ord_id}-{k}", exec_type="F",
                                    ord_status="2" if k == 2 else "1", last_qty=Decimal(100),
                                    last_px=Decimal("100.05"), transact_time=at))  # fmt: skip
        tape = SimulatedTape({}, seed=7)
        rows = []
        with db.transaction() as s:
            got = list(s.scalars(select(Order)))
            t = time.perf_counter()
            mark_arrivals(s, tape, got, T0)
            rows.append(("mark_arrivals (one route)", n, time.perf_counter() - t))
        t = time.perf_counter()
        done = 0
        while True:
            with db.transaction() as s:
                k = capture_intervals(s, tape, T0 + timedelta(hours=1))
            if not k:
                break
            done += k
        rows.append(("capture_intervals (200 a tick)", done, time.perf_counter() - t))
        with db.session() as s:
            t = time.perf_counter()
            doc = tca_report(s, "ad1", T0.date(), T0.date())
            rows.append(("tca_report", len(doc["orders"]), time.perf_counter() - t))
        db.dispose()
    print(f"{'step':32} {'orders':>7} {'seconds':>8} {'per order ms':>13}")
    for name, count, secs in rows:
        print(f"{name:32} {count:>7} {secs:>8.2f} {secs / max(count, 1) * 1000:>13.3f}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
