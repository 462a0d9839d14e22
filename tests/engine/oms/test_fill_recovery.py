"""Fills a broker never resent (it gap-filled its execution reports) are recovered from its
cumulative CumQty and AvgPx, booked once at the price that makes our average the broker's, and a
late copy of the real report is not counted again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.clock import ManualClock
from engine.oms.drafts import OrderDraft
from engine.oms.events import OrderAlert
from engine.oms.messages import ExecReport
from engine.oms.service import OrderManager
from engine.oms.tables import Execution, Order
from engine.store.database import Database
from tests.engine.oms.book import Gateway, RecordingBooker, make_book, make_oms

OPEN = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture
def desk(database: Database) -> Iterator[tuple[OrderManager, RecordingBooker, list[OrderAlert]]]:
    make_book(database)
    booker = RecordingBooker()
    m = make_oms(database, gateway=Gateway(), booker=booker, clock=ManualClock(OPEN))
    alerts: list[OrderAlert] = []
    m.bus.subscribe(OrderAlert, alerts.append)
    yield m, booker, alerts


def report(cl: str, exec_id: str, exec_type: str, status: str, cum: str, avg: str, last: str = "0", px: str = "0",
           poss_dup: bool = False) -> ExecReport:  # fmt: skip
    return ExecReport(
        broker="SIM", exec_id=exec_id, exec_type=exec_type, ord_status=status, cl_ord_id=cl,
        last_qty=Decimal(last), last_px=Decimal(px), cum_qty=Decimal(cum),
        leaves_qty=Decimal(100) - Decimal(cum), avg_px=Decimal(avg), transact_time=OPEN, poss_dup=poss_dup,
    )  # fmt: skip


def one_order(m: OrderManager) -> Order:
    [oid] = m.create([OrderDraft("ACC1", "AAPL", "buy", Decimal(100), broker="SIM")])
    m.route([oid])
    with m.database.session() as s:
        o = s.get(Order, oid)
        assert o is not None
        return o


def fills(m: OrderManager, oid: int) -> list[tuple[str, Decimal, Decimal]]:
    with m.database.session() as s:
        rows = s.execute(
            select(Execution.exec_id, Execution.last_qty, Execution.last_px)
            .where(Execution.order_id == oid, Execution.exec_type == "F")
            .order_by(Execution.id)
        ).all()
    return [(e, Decimal(str(q)), Decimal(str(p))) for e, q, p in rows]


def order(m: OrderManager, oid: int) -> tuple[str, Decimal, Decimal]:
    with m.database.session() as s:
        o = s.get(Order, oid)
        assert o is not None
        return o.status, Decimal(str(o.cum_qty)), Decimal(str(o.avg_px))


def test_every_fill_lost_is_recovered_from_the_status_answer(desk) -> None:  # type: ignore[no-untyped-def]
    m, booker, alerts = desk
    o = one_order(m)
    m.apply(report(o.cl_ord_id, "N1", "0", "0", "0", "0"))
    # 60 at 10.00 and 40 at 11.50 were filled; the broker gap-filled both reports. Its status
    # answer says filled, CumQty 100, AvgPx 10.60.
    m.apply(report(o.cl_ord_id, "S1", "I", "2", "100", "10.60"))
    assert order(m, o.id) == ("filled", Decimal(100), Decimal("10.6"))
    assert fills(m, o.id) == [("S1/recovered", Decimal(100), Decimal("10.6"))]
    assert sum(f.quantity for f in booker.fills.values()) == Decimal(100)  # allocated and booked once
    assert {f.price for f in booker.fills.values()} == {Decimal("10.6")}
    assert any("recovered a fill of 100 at 10.6 from" in a.message for a in alerts), [
        a.message for a in alerts
    ]


def test_the_one_lost_fill_gets_its_own_price_and_a_late_copy_is_not_counted(desk) -> None:  # type: ignore[no-untyped-def]
    m, booker, _ = desk
    o = one_order(m)
    m.apply(report(o.cl_ord_id, "F1", "F", "1", "60", "10", last="60", px="10"))
    m.apply(report(o.cl_ord_id, "S1", "I", "2", "100", "10.60"))  # the 40 at 11.50 was gap-filled
    assert fills(m, o.id) == [
        ("F1", Decimal(60), Decimal(10)),
        ("S1/recovered", Decimal(40), Decimal("11.5")),
    ]
    assert order(m, o.id) == ("filled", Decimal(100), Decimal("10.6"))
    # The broker resends the real report after all: its CumQty is already covered.
    m.apply(report(o.cl_ord_id, "F2", "F", "2", "100", "10.60", last="40", px="11.50", poss_dup=True))
    assert [f[0] for f in fills(m, o.id)] == ["F1", "S1/recovered"]
    assert order(m, o.id) == ("filled", Decimal(100), Decimal("10.6"))
    assert sum(f.quantity for f in booker.fills.values()) == Decimal(100)


def test_a_fill_between_two_reports_is_recovered_from_the_next_one(desk) -> None:  # type: ignore[no-untyped-def]
    m, _, alerts = desk
    o = one_order(m)
    # The first fill (60 at 10.00) never arrives; the second says CumQty 100 at AvgPx 10.60.
    m.apply(report(o.cl_ord_id, "F2", "F", "2", "100", "10.60", last="40", px="11.50"))
    assert fills(m, o.id) == [
        ("F2", Decimal(40), Decimal("11.5")),
        ("F2/recovered", Decimal(60), Decimal(10)),
    ]
    assert order(m, o.id) == ("filled", Decimal(100), Decimal("10.6"))
    assert not any("fills add up to" in a.message for a in alerts)  # nothing left unexplained


def test_nothing_is_made_up_when_nothing_is_missing(desk) -> None:  # type: ignore[no-untyped-def]
    m, _, _ = desk
    o = one_order(m)
    m.apply(report(o.cl_ord_id, "F1", "F", "1", "60", "10", last="60", px="10"))
    m.apply(report(o.cl_ord_id, "S1", "I", "1", "60", "10"))  # the status agrees
    assert fills(m, o.id) == [("F1", Decimal(60), Decimal(10))]
    assert order(m, o.id) == ("partially_filled", Decimal(60), Decimal(10))
