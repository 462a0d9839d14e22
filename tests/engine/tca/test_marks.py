"""The OMS's arrival mark at release to the broker (one SQLite book, no FIX: a recording gateway):
the port's last print then; a port that fails leaves the order routed and stamped, its mark empty."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from engine.clock import ManualClock
from engine.oms.drafts import OrderDraft
from engine.oms.marks_tables import OrderMarks
from engine.oms.tables import Order
from engine.ports import MarketPrint
from engine.store.database import Database
from tests.engine.oms.book import Gateway, make_book, make_oms

OPEN = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # New York open


class Fixed:
    source = "fixed"

    def last(self, symbol: str, at: datetime) -> MarketPrint | None:
        return MarketPrint(
            at=at, price=Decimal("123.45") if symbol == "AAPL" else Decimal(7), quantity=Decimal(1)
        )

    def prints(self, symbol: str, start: datetime, end: datetime) -> list[MarketPrint]:
        return []


class Broken(Fixed):
    source = "broken"

    def last(self, symbol: str, at: datetime) -> MarketPrint | None:
        raise ConnectionError("feed down")


def _route(db: Database, port: object, qty: int) -> OrderMarks:
    gw = Gateway()
    oms = make_oms(db, gateway=gw, clock=ManualClock(OPEN), market_data=port)
    [oid] = oms.create([OrderDraft("ACC1", "AAPL", "buy", Decimal(qty), broker="SIM")])
    oms.route([oid])
    assert len(gw.sent) == 1
    with db.session() as s:
        assert s.get_one(Order, oid).sent_at == OPEN
        marks = s.scalars(select(OrderMarks).where(OrderMarks.order_id == oid)).all()
    assert len(marks) == 1
    return marks[0]


def test_arrival_is_the_ports_last_print_at_release(sqlite_database: Database) -> None:
    make_book(sqlite_database)
    m = _route(sqlite_database, Fixed(), 10)
    assert (m.source, m.arrival_at, m.arrival_px, m.captured_at) == ("fixed", OPEN, Decimal("123.45"), None)
    b = _route(sqlite_database, Broken(), 11)  # the route and its stamp go on; TCA says "no arrival"
    assert (b.source, b.arrival_px) == ("broken", None)
