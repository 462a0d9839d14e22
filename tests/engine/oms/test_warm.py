"""The first route's warm-up (engine.oms.warm): it loads the calendars and the market data port's
first answer, changes nothing in the book (every row of every table, the audit chain's head),
sends and publishes nothing, and the route after it routes and holds as a cold one does. On
SQLite and PostgreSQL; the desk's OMS link runs it on its engine thread's idle steps."""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import MetaData, select

from engine.clock import ManualClock
from engine.events import Event
from engine.markets.calendars import calendar
from engine.oms.drafts import OrderDraft
from engine.oms.marks_tables import OrderMarks
from engine.oms.messages import NewOrder
from engine.oms.service import OrderManager
from engine.oms.tables import Order
from engine.oms.warm import WarmUp
from engine.ports import MarketPrint
from engine.store.database import Database
from engine.store.people import AuditEntry
from engine.store.reference import Security
from tests.engine.oms.book import Gateway, make_book, make_oms
from tests.engine.oms.test_wire_loop import OPEN
from ui.oms_link import OmsLink


class Tape:
    """A market data port that counts what it is asked (a fixed last print of 123.45)."""

    source = "test-tape"

    def __init__(self, fail: bool = False) -> None:
        self.asked: list[str] = []
        self.fail = fail

    def last(self, symbol: str, at: datetime) -> MarketPrint | None:
        self.asked.append(symbol)
        if self.fail:
            raise ConnectionError("market data down")
        return MarketPrint(at=at, price=Decimal("123.45"), quantity=Decimal(100))

    def prints(self, symbol: str, start: datetime, end: datetime) -> list[MarketPrint]:
        return []


def book(database: Database, tape: Tape) -> tuple[OrderManager, Gateway, list[Event], list[int]]:
    """An OMS at a New York open with two released orders: AAPL (XNAS open) and 7203.T (XTKS shut)."""
    make_book(database)
    gw = Gateway()
    m = make_oms(database, gateway=gw, clock=ManualClock(OPEN), market_data=tape)
    events: list[Event] = []
    m.bus.subscribe(Event, events.append)
    ids = m.create(
        [
            OrderDraft("ACC1", "AAPL", "buy", Decimal(100), broker="SIM", order_type="limit", limit_price=Decimal(101)),
            OrderDraft("ACC2", "7203.T", "buy", Decimal(100), broker="SIM", order_type="limit", limit_price=Decimal(2500)),
        ]
    )  # fmt: skip
    events.clear()
    return m, gw, events, ids


def snapshot(database: Database) -> dict[str, Any]:
    """Every row of every table (sorted), and the audit chain's head (last id and hash)."""
    md = MetaData()
    out: dict[str, Any] = {}
    with database.session() as s:
        md.reflect(bind=s.connection())
        for name, t in md.tables.items():
            out[name] = sorted(tuple(map(repr, r)) for r in s.execute(select(*t.c)).all())
        out["audit head"] = s.execute(
            select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc())
        ).first()
    return out


def routed_correctly(database: Database, m: OrderManager, gw: Gateway, ids: list[int]) -> None:
    """The route sends AAPL (pending_new, sent_at, arrival price) and holds 7203.T until Tokyo opens."""
    r = m.route(ids)
    assert (r.sent, r.held, r.skipped) == ([ids[0]], [ids[1]], [])
    assert [(type(x).__name__, x.cl_ord_id) for x in gw.sent] == [("NewOrder", m_cl(database, ids[0]))]
    assert isinstance(gw.sent[0], NewOrder) and gw.sent[0].quantity == 100
    with database.session() as s:
        a, t = s.get(Order, ids[0]), s.get(Order, ids[1])
        assert a is not None and t is not None
        assert (a.status, a.sent_at is not None) == ("pending_new", True)
        assert (t.status, t.sent_at) == ("held", None)
        xtks = calendar("XTKS")
        opens = xtks.next_open(OPEN.replace(tzinfo=None))
        assert t.release_at is not None and t.release_at.timestamp() == opens.timestamp()
        return_px = s.scalars(select(OrderMarks.arrival_px).where(OrderMarks.order_id == ids[0])).one()
    assert return_px == Decimal("123.45")


def m_cl(database: Database, order_id: int) -> str:
    with database.session() as s:
        o = s.get(Order, order_id)
        assert o is not None
        return o.cl_ord_id


def test_the_warm_up_changes_nothing_and_the_route_after_it_routes(database: Database) -> None:
    tape = Tape()
    m, gw, events, ids = book(database, tape)
    before = snapshot(database)
    assert before["orders"] and before["order_events"] and before["audit head"] is not None
    w = WarmUp(m.ctx)
    steps = 0
    while w.step():
        steps += 1
    assert w.done and steps == 1 + 3  # the plan, then the markets of the desk's orders and the tape
    assert w.warmed == ["calendar XNAS", "market data AAPL", "calendar XTKS"]  # not XLON: no order
    assert len(tape.asked) == 1
    assert snapshot(database) == before  # orders, events, executions, audit chain head: all unchanged
    assert gw.sent == [] and events == []  # nothing on the wire, nothing published
    routed_correctly(database, m, gw, ids)


def test_a_failing_piece_is_logged_and_the_route_still_routes(database: Database) -> None:
    tape = Tape(fail=True)
    m, gw, events, ids = book(database, tape)
    before = snapshot(database)
    w = WarmUp(m.ctx)
    while w.step():
        pass
    assert len(tape.asked) == 1 and not any(x.startswith("market data") for x in w.warmed)
    assert snapshot(database) == before and gw.sent == [] and events == []
    tape.fail = False
    routed_correctly(database, m, gw, ids)


def test_the_desk_link_warms_up_on_its_idle_steps(sqlite_database: Database) -> None:
    tape = Tape()
    m, gw, events, ids = book(sqlite_database, tape)
    before = snapshot(sqlite_database)
    link = OmsLink(m)
    try:
        assert link.call(lambda: 7) == 7  # starts the engine thread
        deadline = time.monotonic() + 60
        while not link.warm.done and time.monotonic() < deadline:
            time.sleep(0.01)
        assert link.warm.done and link.warm.warmed == ["calendar XNAS", "market data AAPL", "calendar XTKS"]
        assert snapshot(sqlite_database) == before and gw.sent == [] and events == []
        link.call(lambda: routed_correctly(sqlite_database, m, gw, ids))
    finally:
        link.shutdown()


def test_a_desk_without_recent_orders_warms_its_busiest_market_only(database: Database) -> None:
    make_book(database)
    tape = Tape()
    with database.transaction() as s:  # two securities in Tokyo: the busiest market
        s.add(Security(symbol="6758.T", name="6758.T", asset_class="equity", currency="JPY", mic="XTKS",
                       country="JP", sector="Information Technology", issuer="6758.T", lot_size=100))  # fmt: skip
    m = make_oms(database, gateway=Gateway(), clock=ManualClock(OPEN), market_data=tape)
    before = snapshot(database)
    w = WarmUp(m.ctx)
    while w.step():
        pass
    assert w.warmed == ["calendar XTKS", "market data 7203.T"] and tape.asked == ["7203.T"]
    assert snapshot(database) == before
