"""A trader kill switch stops that trader's orders and no one else's (create refused, routing and
blocks skip them, a replace is held), and a route to a broker chosen now: on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.clock import ManualClock
from engine.compliance import killswitch
from engine.errors import NotFound, WorkstationError
from engine.oms.drafts import OrderDraft
from engine.oms.errors import OrderRejected
from engine.oms.tables import Order, OrderEvent
from engine.store.database import Database
from engine.store.people import AuditEntry
from tests.engine.compliance.minibook import build_minibook
from tests.engine.oms.book import Gateway, make_oms

OPEN = datetime(2026, 10, 30, 15, 0, tzinfo=UTC)


def draft(account: str = "U1", **kw: object) -> OrderDraft:
    return OrderDraft(account, "AAA", "buy", Decimal(10), broker="SIM", **kw)  # type: ignore[arg-type]


def engage(db: Database, trader: str) -> int:
    with db.transaction() as s:
        return killswitch.engage(s, "co1", "trader", trader, "fat finger review").id


def test_trader_switch_refuses_that_traders_orders_only(database: Database) -> None:
    build_minibook(database)
    gw = Gateway()
    m = make_oms(database, gateway=gw, clock=ManualClock(OPEN))
    early = m.create([draft("U1")], "tr1")
    sid = engage(database, "tr1")
    with pytest.raises(
        OrderRejected, match="tr1 may not enter orders now: routing stopped for orders entered by trader tr1"
    ):
        m.create([draft("U2")], "tr1")
    other = m.create([draft("U2")], "pm1")
    result = m.route(outside_hours=True)
    assert result.sent == other and result.skipped == early
    assert [x.cl_ord_id for x in gw.sent] == [o.cl_ord_id for o in orders(database, other)]
    with database.session() as s:
        why = s.scalars(
            select(OrderEvent.detail).where(OrderEvent.order_id == early[0], OrderEvent.kind == "alert")
        ).all()
        assert why[-1]["message"] == "routing stopped for trader tr1 (kill switch)"
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "killswitch.engage")).all()
        assert audit[-1].after == {"scope": "trader", "key": "tr1"}
    with database.transaction() as s:
        killswitch.release(s, "co1", sid, "reviewed")
    assert m.route(outside_hours=True).sent == early


def test_trader_switch_needs_a_known_user_and_the_permission(database: Database) -> None:
    build_minibook(database)
    with database.transaction() as s, pytest.raises(NotFound, match="user 'ghost' does not exist"):
        killswitch.engage(s, "co1", "trader", "ghost", "why")
    with database.transaction() as s, pytest.raises(WorkstationError, match="need one"):
        killswitch.engage(s, "co1", "trader", None, "why")
    with database.transaction() as s:
        k = killswitch.engage(s, "ad1", "trader", "tr1", "why")
        assert "orders entered by trader tr1" in killswitch.describe(k)


def test_route_to_a_broker_chosen_now(database: Database) -> None:
    build_minibook(database)
    gw = Gateway()
    m = make_oms(database, gateway=gw, clock=ManualClock(OPEN))
    plain = m.create([draft("U1")], "tr1")
    algo = m.create([draft("U2", strategy="vwap")], "tr1")
    r = m.route(plain + algo, outside_hours=True, username="tr1", broker="ALT")
    assert r.sent == plain and r.skipped == algo  # ALT offers no vwap: refused, stays released
    assert [(x.broker, x.cl_ord_id) for x in gw.sent] == [("ALT", orders(database, plain)[0].cl_ord_id)]
    with database.session() as s:
        o = s.get(Order, plain[0])
        assert o is not None and o.broker == "ALT" and o.status == "pending_new"
        ev = s.scalars(
            select(OrderEvent).where(OrderEvent.order_id == plain[0], OrderEvent.kind == "rebrokered")
        ).one()
        assert ev.detail == {"broker": "ALT", "was": "SIM"} and ev.username == "tr1"
        a = s.get(Order, algo[0])
        assert a is not None and a.broker == "SIM" and a.status == "released"
        why = s.scalars(
            select(OrderEvent.detail).where(OrderEvent.order_id == algo[0], OrderEvent.kind == "alert")
        ).all()
        assert "cannot route to ALT: broker ALT has no strategy 'vwap'" in why[-1]["message"]


def orders(db: Database, ids: list[int]) -> list[Order]:
    with db.session() as s:
        return list(s.scalars(select(Order).where(Order.id.in_(ids)).order_by(Order.id)))
