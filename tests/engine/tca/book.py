"""A stored day of orders for TCA tests: fills, the OMS's marks and market prints written directly.

O1 buy 300 AAPL (USD, SIM, tr1): 100 @ 100.20 and 200 @ 100.50, arrival 100, three prints inside
   its fill interval (and one before and one after it, outside);
O2 sell 1,000 VOD.L (GBP, BRK2, tr2): 400 @ 99.90 then cancelled with the market at 99, arrival 100;
O3 a child of O1 (excluded: its block is analysed); O4 never sent (excluded);
O5 buy 100 AAPL (SIM, tr1) filled @ 50 with no marks (counted, unmeasured).
GBPUSD is 1.25 on every day around the trade date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

from sqlalchemy import select

from engine.oms.marks_tables import MarketPrintRow, OrderMarks
from engine.oms.tables import Execution, Order
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.market import FxRate
from engine.store.reference import Security
from tests.engine.oms.book import make_book

DAY = date(2026, 11, 23)
T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def _s(x: float) -> datetime:
    return T0 + timedelta(seconds=x)


def build(database: Database) -> dict[str, int]:
    make_book(database)
    with database.transaction() as s:
        sec = dict(s.execute(select(Security.symbol, Security.id)).tuples().all())
        acc = dict(s.execute(select(Account.code, Account.id)).tuples().all())
        for n in range(-7, 8):
            s.add(
                FxRate(base="GBP", quote="USD", date=DAY + timedelta(days=n), rate=D("1.25"), source="test")
            )

        def order(
            cl: str,
            sym: str,
            side: str,
            qty: int,
            ccy: str,
            broker: str,
            trader: str,
            status: str,
            sent: datetime | None,
            parent: int | None = None,
        ) -> Order:
            o = Order(cl_ord_id=cl, account_id=acc["ACC1"], security_id=sec[sym], side=side, quantity=D(qty),
                      order_type="market", time_in_force="day", currency=ccy, broker=broker, status=status,
                      created_by=trader, sent_at=sent, trade_date=DAY, parent_id=parent)  # fmt: skip
            s.add(o)
            s.flush()
            return o

        def fill(o: Order, n: int, qty: int, px: str, at: datetime, exec_type: str = "F") -> None:
            s.add(Execution(order_id=o.id, broker=o.broker or "", exec_id=f"{o.cl_ord_id}-{n}", exec_type=exec_type,
                            ord_status="1", last_qty=D(qty), last_px=D(px), transact_time=at))  # fmt: skip

        o1 = order("O1", "AAPL", "buy", 300, "USD", "SIM", "tr1", "filled", T0)
        fill(o1, 1, 100, "100.20", _s(1))
        fill(o1, 2, 200, "100.50", _s(2))
        s.add(OrderMarks(order_id=o1.id, source="simulated", arrival_at=T0, arrival_px=D(100),
                         interval_from=_s(1), interval_to=_s(2), prints=3, captured_at=_s(3)))  # fmt: skip
        for at, px, q in ((0.5, "999", 1), (1, "100.10", 300), (1.5, "100.40", 100), (2, "100.30", 200),
                          (2.5, "1", 1)):  # fmt: skip
            s.add(
                MarketPrintRow(
                    source="simulated", security_id=sec["AAPL"], at=_s(at), price=D(px), quantity=D(q)
                )
            )
        o2 = order("O2", "VOD.L", "sell", 1000, "GBP", "BRK2", "tr2", "canceled", T0)
        fill(o2, 1, 400, "99.90", _s(4))
        fill(o2, 2, 0, "0", _s(6), exec_type="4")
        s.add(OrderMarks(order_id=o2.id, source="simulated", arrival_at=T0, arrival_px=D(100),
                         interval_from=_s(4), interval_to=_s(4), prints=1, end_at=_s(6), end_px=D(99),
                         captured_at=_s(7)))  # fmt: skip
        s.add(
            MarketPrintRow(
                source="simulated", security_id=sec["VOD.L"], at=_s(4), price=D("99.95"), quantity=D(10)
            )
        )
        o3 = order("O3", "AAPL", "buy", 100, "USD", "SIM", "tr1", "filled", T0, parent=o1.id)
        fill(o3, 1, 100, "100", _s(1))
        o4 = order("O4", "AAPL", "buy", 100, "USD", "SIM", "tr1", "released", None)
        o5 = order("O5", "AAPL", "buy", 100, "USD", "SIM", "tr1", "filled", T0 + timedelta(hours=1))
        fill(o5, 1, 100, "50", T0 + timedelta(hours=1, seconds=1))
        return {"O1": o1.id, "O2": o2.id, "O3": o3.id, "O4": o4.id, "O5": o5.id}
