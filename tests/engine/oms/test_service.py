"""The order manager without a network: a recording gateway, broker messages applied by hand.

Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.clock import ManualClock
from engine.errors import ImportValidationError
from engine.oms.drafts import OrderDraft
from engine.oms.importer import import_orders
from engine.oms.listing import order_list
from engine.oms.messages import CancelReject, ExecReport, NewOrder, ReplaceOrder, StatusRequest
from engine.oms.service import OrderManager
from engine.oms.tables import Allocation, Execution, Order, OrderEvent
from engine.store.database import Database
from tests.engine.oms.book import Gateway, PassAll, RecordingBooker, make_book, make_oms

OPEN = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture
def oms(database: Database) -> Iterator[tuple[OrderManager, Gateway, RecordingBooker]]:
    make_book(database)
    gw, booker = Gateway(), RecordingBooker()
    yield (
        make_oms(
            database, gateway=gw, checker=PassAll(flag=["ACC3"]), booker=booker, clock=ManualClock(OPEN)
        ),
        gw,
        booker,
    )


def er(
    cl: str,
    exec_id: str,
    exec_type: str,
    status: str,
    cum: int,
    leaves: int,
    last: int = 0,
    px: str = "0",
    avg: str = "0",
    **kw,
) -> ExecReport:  # type: ignore[no-untyped-def]
    return ExecReport(
        broker="SIM", exec_id=exec_id, exec_type=exec_type, ord_status=status, cl_ord_id=cl,
        last_qty=Decimal(last), last_px=Decimal(px), cum_qty=Decimal(cum), leaves_qty=Decimal(leaves),
        avg_px=Decimal(avg), transact_time=OPEN, **kw,
    )  # fmt: skip


def get(m: OrderManager, oid: int) -> Order:
    with m.database.session() as s:
        o = s.get(Order, oid)
        assert o is not None
        return o


def test_compliance_outcomes_and_routing(oms) -> None:  # type: ignore[no-untyped-def]
    m, gw, _ = oms
    a, b = m.create([OrderDraft("ACC1", "AAPL", "buy", Decimal(100), broker="SIM"),
                     OrderDraft("ACC3", "AAPL", "buy", Decimal(100), broker="SIM")])  # fmt: skip
    assert (get(m, a).status, get(m, b).status) == ("released", "pending_approval")
    assert m.route().sent == [a]
    [msg] = gw.sent
    assert isinstance(msg, NewOrder) and msg.cl_ord_id == get(m, a).cl_ord_id and msg.account == "ACC1"
    assert get(m, a).status == "pending_new" and get(m, a).sent_at is not None


def test_fills_invariants_duplicates_and_booking(oms) -> None:  # type: ignore[no-untyped-def]
    m, _, booker = oms
    [oid] = m.create([OrderDraft("ACC1", "AAPL", "buy", Decimal(300), broker="SIM")])
    m.route()
    cl = get(m, oid).cl_ord_id
    m.apply(er(cl, "E1", "0", "0", 0, 300))
    m.apply(er(cl, "E2", "F", "1", 100, 200, 100, "10.00", "10"))
    m.apply(er(cl, "E2", "F", "1", 100, 200, 100, "10.00", "10", poss_dup=True))  # duplicate
    o = get(m, oid)
    assert (o.status, o.cum_qty, o.leaves_qty, m.duplicates, m.alerts) == ("partially_filled", 100, 200, 1, 0)
    m.apply(er(cl, "E3", "F", "2", 300, 0, 200, "10.30", "10.2"))
    o = get(m, oid)
    assert (o.status, o.cum_qty, o.leaves_qty, o.avg_px) == ("filled", 300, 0, Decimal("10.2"))
    [fill] = booker.fills.values()
    assert (fill.quantity, fill.price, fill.account, str(fill.settle_date)) == (
        300,
        Decimal("10.2"),
        "ACC1",
        "2026-11-24",
    )
    # The broker's CumQty disagreeing with the fills is alerted and the order kept.
    m.apply(er(cl, "E4", "I", "2", 250, 0, avg="10.2"))
    assert m.alerts == 1 and get(m, oid).status == "filled" and get(m, oid).cum_qty == 300
    with m.database.session() as s:
        assert s.scalar(select(func.count()).select_from(Execution).where(Execution.order_id == oid)) == 4


def test_fill_on_a_final_order_is_alerted_not_crashed(oms) -> None:  # type: ignore[no-untyped-def]
    m, _, _ = oms
    [oid] = m.create([OrderDraft("ACC1", "AAPL", "buy", Decimal(100), broker="SIM")])
    m.route()
    cl = get(m, oid).cl_ord_id
    m.apply(er(cl, "X1", "8", "8", 0, 0, text="no"))
    m.apply(er(cl, "X2", "F", "1", 50, 50, 50, "5", "5"))
    o = get(m, oid)
    assert o.status == "rejected" and m.alerts >= 1
    with m.database.session() as s:
        kinds = [e.kind for e in s.scalars(select(OrderEvent).where(OrderEvent.order_id == oid))]
    assert "alert" in kinds


def test_unknown_order_reply_resends_same_cl_ord_id(oms) -> None:  # type: ignore[no-untyped-def]
    m, gw, _ = oms
    [oid] = m.create([OrderDraft("ACC1", "AAPL", "buy", Decimal(100), broker="SIM")])
    m.route()
    cl = get(m, oid).cl_ord_id
    assert m.reconcile("SIM") == 1 and isinstance(gw.sent[-1], StatusRequest)
    m.apply(er(cl, "U1", "I", "8", 0, 0, ord_rej_reason=5, text="unknown order"))
    assert isinstance(gw.sent[-1], NewOrder) and gw.sent[-1].cl_ord_id == cl
    assert get(m, oid).status == "pending_new"


def test_held_until_open_with_injected_clock(oms, database: Database) -> None:  # type: ignore[no-untyped-def]
    m, gw, _ = oms
    [oid] = m.create([OrderDraft("ACC1", "7203.T", "buy", Decimal(100), broker="SIM")])
    assert m.route().held == [oid]
    o = get(m, oid)
    assert o.status == "held" and o.release_at == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)  # Tokyo 09:00
    assert m.release_due() == [] and not gw.sent
    m.clock.set(datetime(2026, 11, 24, 0, 1, tzinfo=UTC))  # type: ignore[attr-defined]
    assert m.release_due() == [oid]
    assert get(m, oid).status == "pending_new" and gw.sent[-1].symbol == "7203.T"  # type: ignore[union-attr]


def test_block_replace_resizes_children_and_cancel_reject(oms) -> None:  # type: ignore[no-untyped-def]
    m, gw, booker = oms
    ids = m.create([OrderDraft("ACC1", "7203.T", "buy", Decimal(q), broker="SIM") for q in (300, 700)])
    [bid] = m.build_blocks(ids)
    m.route([bid], outside_hours=True)
    cl = get(m, bid).cl_ord_id
    m.apply(er(cl, "B1", "0", "0", 0, 1000))
    new_cl = m.replace(bid, quantity=Decimal(500))
    assert isinstance(gw.sent[-1], ReplaceOrder) and gw.sent[-1].orig_cl_ord_id == cl
    m.apply(er(new_cl, "B2", "5", "0", 0, 500, orig_cl_ord_id=cl))
    block = get(m, bid)
    assert (block.status, block.cl_ord_id, block.orig_cl_ord_id, block.quantity) == ("new", new_cl, cl, 500)
    # shares 150/350: whole lots of 100 first, the tie for the last lot broken by the block's hash
    assert sorted(get(m, i).quantity for i in ids) in ([200, 300], [100, 400])
    m.cancel(bid)
    cx = gw.sent[-1].cl_ord_id
    m.apply(
        CancelReject(
            broker="SIM", cl_ord_id=cx, orig_cl_ord_id=new_cl, ord_status="0", response_to="1", reason=0
        )
    )
    assert get(m, bid).status == "new" and {get(m, i).status for i in ids} == {"in_block"}
    m.apply(er(new_cl, "B3", "F", "2", 500, 0, 500, "1000", "1000"))
    with m.database.session() as s:
        allocs = {a.child_id: a.quantity for a in s.scalars(select(Allocation))}
    assert sum(allocs.values()) == 500 and {get(m, i).status for i in ids} == {"filled"}
    assert sum(f.quantity for f in booker.fills.values()) == 500
    with m.database.session() as s:
        [row] = [r for r in order_list(s) if r["block"]]
    assert [c["cum_qty"] for c in row["children"]] == [get(m, i).cum_qty for i in ids]
    assert len(row["allocations"]) == 2 and all(a["booked"] for a in row["allocations"])
    json.dumps(row, default=str)


def test_import_is_all_or_nothing(oms, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    m, _, _ = oms
    bad = tmp_path / "orders.csv"
    bad.write_text(
        "account,symbol,side,quantity,order_type,limit_price,time_in_force,broker\n"
        "ACC1,AAPL,buy,100,market,,day,SIM\n"
        "ACC1,NOPE,hold,-5,limit,,week,\n"
    )
    with pytest.raises(ImportValidationError) as err:
        import_orders(m, bad)
    cols = {(p.row, p.column) for p in err.value.problems}
    assert cols == {
        (3, "symbol"),
        (3, "side"),
        (3, "quantity"),
        (3, "limit_price"),
        (3, "time_in_force"),
        (3, "broker"),
    }
    with m.database.session() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 0
    good = tmp_path / "good.csv"
    good.write_text(
        "account,symbol,side,quantity,order_type,limit_price,time_in_force,broker\n"
        "ACC1,AAPL,buy,100,limit,101.5,gtc,SIM\nACC3,AAPL,sell,50,market,,day,SIM\n"
    )
    result = import_orders(m, good)
    assert (result.released, result.pending_approval, result.rejected) == (1, 1, 0)
