"""Brokers as they are: one OMS routes over real QuickFIX sessions on 127.0.0.1 in FIX 4.2, 4.4 and
5.0 SP2 (FIXT.1.1) to the simulated broker (its own process, `broker-sim --comp-id SIM42,SIM,SIM50`:
three brokers, each speaking its definition's version): order -> fill -> booked, cancel, replace and a
broker's reject give the same order states whatever the version, while the wire shows each
version's own form (4.2 fills as ExecType 1/2 with ExecTransType 0, FIXT.1.1 with ApplVerID 9, the
4.2 broker's required Account and custom tag 5001)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.oms.drafts import OrderDraft
from engine.oms.fx import ensure_fx_instruments
from engine.oms.tables import Execution
from tests.conftest import migrated
from tests.connectors.fix.alloc_helpers import instructions, wait_status
from tests.connectors.fix.harness import OPEN, Oms, Sim
from tests.connectors.fix.versions_desk import BROKERS, received, sent, sessions_config
from tests.engine.oms.book import PassAll, RecordingBooker, make_book


@dataclass
class Desk:
    oms: Oms
    booker: RecordingBooker
    fix_dir: Path


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    tmp = tmp_path_factory.mktemp("versions")
    db = migrated(f"sqlite:///{tmp / 'book.db'}")
    make_book(db)
    ensure_fx_instruments(db, {("EUR", "USD")})  # no quote in the simulators: EURUSD is rejected
    # One simulator process as the three brokers, each in its version (one acceptor, three CompIDs).
    sim = Sim(tmp, "--comp-id", ",".join(BROKERS), "--fill-parts", "2", "--now", OPEN.isoformat())
    oms = None
    try:
        sim.ready()
        booker = RecordingBooker()
        config = sessions_config(tmp, dict.fromkeys(BROKERS, sim.port))
        oms = Oms(db, tmp, 0, checker=PassAll(), booker=booker, config=config, brokers=tuple(BROKERS))
        yield Desk(oms, booker, tmp / "fix")
    finally:
        if oms is not None:
            oms.stop()
        sim.stop()
        db.dispose()


def _draft(broker: str, **kw: object) -> OrderDraft:
    return OrderDraft(
        account=str(kw.pop("account", "ACC1")), symbol=str(kw.pop("symbol", "AAPL")), side="buy",
        quantity=Decimal(str(kw.pop("qty", 300))), broker=broker, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.mark.parametrize("broker", list(BROKERS))
def test_order_fills_and_is_booked_in_each_version(desk: Desk, broker: str) -> None:
    oms = desk.oms
    [oid] = oms.create(_draft(broker, qty=300))
    oms.manager.route([oid])
    o = oms.wait(oid)
    assert (o.status, o.cum_qty, o.leaves_qty) == ("filled", 300, 0)
    with oms.database.session() as s:
        fills = s.execute(
            select(Execution.exec_type, Execution.last_qty)
            .where(Execution.order_id == oid)
            .order_by(Execution.id)
        ).all()
    # Two parts of 150; the engine sees ExecType F whatever the version sent.
    assert [(t, q) for t, q in fills if q] == [("F", 150), ("F", 150)]
    booked = [f for f in desk.booker.fills.values() if o.cl_ord_id in f.source_ref]
    assert [(f.account, f.symbol, f.quantity, f.price) for f in booked] == [("ACC1", "AAPL", 300, o.avg_px)]
    # (without the replies to a status request the OMS may send when the ack is slow on a loaded machine)
    wire = [
        m
        for m in received(desk.fix_dir, broker)
        if m.get(11) == o.cl_ord_id and m[150] != "I" and m.get(20) != "3"
    ]
    order = next(m for m in sent(desk.fix_dir, broker, "D") if m[11] == o.cl_ord_id)
    if broker == "SIM42":  # FIX 4.2: a fill is ExecType 1 (partial) then 2 (fill), ExecTransType 0
        assert [(m[8], m[150], m[20], m[39]) for m in wire] == [
            ("FIX.4.2", "0", "0", "0"), ("FIX.4.2", "1", "0", "1"), ("FIX.4.2", "2", "0", "2")
        ]  # fmt: skip
        assert (order[1], order[5001]) == ("ACC1", "WSDESK")  # the broker's required and custom tags
    else:
        begin = "FIX.4.4" if broker == "SIM" else "FIXT.1.1"
        assert [(m[8], m[150], m[39]) for m in wire] == [
            (begin, "0", "0"),
            (begin, "F", "1"),
            (begin, "F", "2"),
        ]
        assert 20 not in wire[1] and 5001 not in order


@pytest.mark.parametrize("broker", list(BROKERS))
def test_cancel_and_replace_in_each_version(desk: Desk, broker: str) -> None:
    oms = desk.oms
    # A buy stop far above the simulated price (100 +- 0.2 %) rests at the broker.
    a, b = oms.create(
        *[_draft(broker, qty=100, order_type="stop", stop_price=Decimal(150), time_in_force="gtc")] * 2
    )
    oms.manager.route([a, b])
    oms.wait(a, {"new"})
    oms.wait(b, {"new"})
    oms.manager.cancel(a)
    x = oms.wait(a)
    assert (x.status, x.cum_qty, x.leaves_qty) == ("canceled", 0, 0)
    first = oms.order(b).cl_ord_id
    new_id = oms.manager.replace(b, quantity=Decimal(60))
    oms.loop.run_until(lambda: (oms.order(b).cl_ord_id, oms.order(b).status) == (new_id, "new"), 15)
    y = oms.order(b)
    assert (y.status, y.quantity, y.leaves_qty, y.cl_ord_id) == ("new", 60, 60, new_id)
    [g] = [m for m in sent(desk.fix_dir, broker, "G") if m[11] == new_id]
    assert (g[41], g[38], g[40], g[99]) == (first, "60", "3", "150")
    assert g.get(5001) == ("WSDESK" if broker == "SIM42" else None)
    [f] = [m for m in sent(desk.fix_dir, broker, "F") if m[41] == x.cl_ord_id or m[11] == x.cl_ord_id]
    assert f[54] == "1"
    oms.manager.cancel(b)
    assert oms.wait(b).status == "canceled"


@pytest.mark.parametrize("broker", list(BROKERS))
def test_a_broker_reject_in_each_version(desk: Desk, broker: str) -> None:
    oms = desk.oms
    [oid] = oms.create(_draft(broker, symbol="EURUSD", qty=100000))
    oms.manager.route([oid])
    o = oms.wait(oid)
    assert (o.status, o.cum_qty, o.leaves_qty) == ("rejected", 0, 0)
    [rej] = [
        m
        for m in received(desk.fix_dir, broker)
        if m.get(11) == o.cl_ord_id and m[150] != "I" and m.get(20) != "3"  # not a status reply
    ]
    assert (rej[150], rej[39], rej[58]) == ("8", "8", "no FX quote for EURUSD")
    assert rej.get(20) == ("0" if broker == "SIM42" else None)


def test_on_close_orders_in_fix_42_are_ordtype_5_and_b(desk: Desk) -> None:
    """FIX 4.2 has no TimeInForce 7: market- and limit-on-close go as OrdType 5 and B, day orders;
    the simulator keeps them for the close (hours away on its clock)."""
    oms = desk.oms
    moc, loc = oms.create(
        _draft("SIM42", qty=10, order_type="market_on_close"),
        _draft("SIM42", qty=20, order_type="limit_on_close", limit_price=Decimal("99")),
    )
    oms.manager.route([moc, loc])
    for oid in (moc, loc):
        assert oms.wait(oid, {"new"}).cum_qty == 0
    wire = {m[11]: m for m in sent(desk.fix_dir, "SIM42", "D")}
    assert [(wire[oms.order(i).cl_ord_id][40], wire[oms.order(i).cl_ord_id][59]) for i in (moc, loc)] == [
        ("5", "0"), ("B", "0")
    ]  # fmt: skip
    for oid in (moc, loc):
        oms.manager.cancel(oid)
        assert oms.wait(oid).status == "canceled"


@pytest.mark.parametrize("broker", list(BROKERS))
def test_a_block_is_allocated_in_each_version(desk: Desk, broker: str) -> None:
    """J, then P (received, accepted) in every version; FIX 4.2 has no AllocationReport (AS), and
    its J no AllocType or AllocNoOrdersType; its P has TradeDate and no NoAllocs."""
    oms = desk.oms
    alerts = oms.manager.alerts
    ids = oms.create(
        *[_draft(broker, account=a, qty=q) for a, q in (("ACC1", 100), ("ACC2", 200), ("ACC3", 300))]
    )
    [bid] = oms.manager.build_blocks(ids)
    assert oms.manager.route([bid], outside_hours=True).sent == [bid]
    block = oms.wait(bid)
    assert (block.status, block.cum_qty) == ("filled", 600)
    ins = wait_status(oms, bid, {"accepted"})
    [j] = [m for m in sent(desk.fix_dir, broker, "J") if m[70] == ins.alloc_id]
    assert (j[53], j[6], j[73]) == ("600", format(block.avg_px.normalize(), "f"), "1")
    acks = [m for m in received(desk.fix_dir, broker, "P") if m[70] == ins.alloc_id]
    assert [m[87] for m in acks] == ["3", "0"]
    if broker == "SIM42":
        assert 626 not in j and 857 not in j and all(75 in m and 78 not in m for m in acks)
        oms.drain(0.3)
        assert instructions(oms.database, bid)[-1].report_id is None
        assert received(desk.fix_dir, broker, "AS") == []
    else:
        assert (j[626], j[857]) == ("2", "1")
        assert oms.loop.run_until(lambda: instructions(oms.database, bid)[-1].report_id is not None, 10)
        [report] = [m for m in received(desk.fix_dir, broker, "AS") if m[70] == ins.alloc_id]
        assert (report[87], report[53]) == ("0", "600")
    assert oms.manager.alerts == alerts


def test_a_strategy_in_fix_42_goes_in_the_tags_its_broker_added(desk: Desk) -> None:
    """FIX 4.2 has no TargetStrategy: SIM42's rules add 847, 848 and 849 to its dictionary, so a
    participation order goes with them, and the simulator works it as in 4.4."""
    oms = desk.oms
    [oid] = oms.create(
        _draft("SIM42", qty=100, order_type="limit", limit_price=Decimal("101"), strategy="pov",
               strategy_params=(("participation_rate", "0.2"),))
    )  # fmt: skip
    oms.manager.route([oid])
    o = oms.wait(oid)
    assert (o.status, o.cum_qty) == ("filled", 100)
    [d] = [m for m in sent(desk.fix_dir, "SIM42", "D") if m[11] == o.cl_ord_id]
    assert (d[8], d[847], d[848], d[849], d[5001]) == (
        "FIX.4.2",
        "2",
        "participation_rate=0.2",
        "0.2",
        "WSDESK",
    )
