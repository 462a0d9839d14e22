"""Order types and time in force over real QuickFIX sessions against the simulated broker (in its own
process): the tags on the wire, and what the broker does with them, down to the order's final state."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from engine.clock import ManualClock
from tests.conftest import migrated
from tests.connectors.fix.harness import OPEN, Oms, Sim, draft
from tests.connectors.fix.wire import sent_orders
from tests.engine.oms.book import PassAll, RecordingBooker, make_book

# AAPL has no reference price in these books: the simulator's price is 100 moved by up to 0.2 %.


def _run(tmp: Path, clock: ManualClock, *flags: str) -> tuple[Sim, Oms]:
    db = migrated(f"sqlite:///{tmp / 'book.db'}")
    make_book(db)
    sim = Sim(tmp, *flags).ready()
    return sim, Oms(db, tmp, sim.port, checker=PassAll(), booker=RecordingBooker(), clock=clock)


def test_ioc_fills_what_it_can_and_fok_all_or_nothing(tmp_path: Path) -> None:
    sim, oms = _run(tmp_path, ManualClock(OPEN), "--fill-parts", "4", "--now", OPEN.isoformat())
    try:
        ioc, fok = oms.create(draft(qty=400, time_in_force="ioc"), draft(qty=400, time_in_force="fok"))
        oms.manager.route([ioc, fok])
        a, b = oms.wait(ioc), oms.wait(fok)
        # IOC: one part of four at once, the rest cancelled (ExecType 4 with CumQty 100).
        assert (a.status, a.cum_qty, a.leaves_qty) == ("canceled", 100, 0)
        assert 99.8 <= float(a.avg_px) <= 100.2
        # FOK: the book offers 100 at once, not 400: nothing fills.
        assert (b.status, b.cum_qty, b.leaves_qty) == ("canceled", 0, 0)
        wire = sent_orders(tmp_path / "fix")
        assert (wire[a.cl_ord_id][40], wire[a.cl_ord_id][59]) == ("1", "3")
        assert (wire[b.cl_ord_id][40], wire[b.cl_ord_id][59]) == ("1", "4")
    finally:
        oms.stop()
        sim.stop()
        oms.database.dispose()


def test_fok_fills_in_full_and_stops_trigger_when_the_price_crosses(tmp_path: Path) -> None:
    sim, oms = _run(tmp_path, ManualClock(OPEN), "--fill-parts", "1", "--now", OPEN.isoformat())
    try:
        fok, stop, far, stop_limit = oms.create(
            draft(qty=300, time_in_force="fok"),
            draft(qty=100, order_type="stop", stop_price=Decimal("100.05"), time_in_force="gtc"),
            draft(qty=100, order_type="stop", stop_price=Decimal("150")),
            draft(qty=200, side="sell", order_type="stop_limit", stop_price=Decimal("99.95"),
                  limit_price=Decimal("99")),
        )  # fmt: skip
        oms.manager.route([fok, stop, far, stop_limit])
        f = oms.wait(fok)
        assert (f.status, f.cum_qty) == ("filled", 300)
        s = oms.wait(stop, {"filled"}, timeout=30)
        assert s.cum_qty == 100 and s.avg_px >= Decimal("100.05")  # a buy stop fills at or above its stop
        sl = oms.wait(stop_limit, {"filled"}, timeout=30)
        assert sl.cum_qty == 200 and Decimal("99") <= sl.avg_px <= Decimal("99.95")
        oms.drain(0.5)
        assert oms.order(far).status == "new"  # 150 is never reached: no fill
        triggered = {e["cl_ord_id"] for e in sim.events() if e["event"] == "triggered"}
        assert triggered == {s.cl_ord_id, sl.cl_ord_id}
        wire = sent_orders(tmp_path / "fix")
        assert {k: wire[s.cl_ord_id].get(k) for k in (40, 99, 44, 59)} == {
            40: "3",
            99: "100.05",
            44: None,
            59: "1",
        }
        assert {k: wire[sl.cl_ord_id].get(k) for k in (40, 99, 44, 59)} == {
            40: "4",
            99: "99.95",
            44: "99",
            59: "0",
        }
    finally:
        oms.stop()
        sim.stop()
        oms.database.dispose()


def test_on_close_orders_fill_at_the_close_and_gtd_expires(tmp_path: Path) -> None:
    # Nasdaq closes at 21:00 UTC; the desk enters the orders at 20:50, before the 20:55 cut-off,
    # and the simulator's clock runs from 20:59:35.
    desk = ManualClock(datetime(2026, 11, 23, 20, 50, tzinfo=UTC))
    sim_start = datetime(2026, 11, 23, 20, 59, 35, tzinfo=UTC)
    expiry = datetime(2026, 11, 23, 20, 59, 45, tzinfo=UTC)
    sim, oms = _run(tmp_path, desk, "--fill-parts", "0", "--now", sim_start.isoformat())
    try:
        moc, loc_in, loc_out, gtd = oms.create(
            draft(qty=100, order_type="market_on_close"),
            draft(qty=100, order_type="limit_on_close", limit_price=Decimal("101")),
            draft(qty=100, order_type="limit_on_close", limit_price=Decimal("99")),
            draft(
                qty=100, order_type="limit", limit_price=Decimal("90"), time_in_force="gtd", expire_at=expiry
            ),
        )
        oms.manager.route([moc, loc_in, loc_out, gtd])
        g = oms.wait(gtd, timeout=60)
        assert (g.status, g.cum_qty, g.leaves_qty) == ("expired", 0, 0)
        m, li, lo = oms.wait(moc, timeout=60), oms.wait(loc_in, timeout=60), oms.wait(loc_out, timeout=60)
        assert (m.status, m.cum_qty, m.avg_px) == ("filled", 100, Decimal("100"))
        assert (li.status, li.cum_qty, li.avg_px) == ("filled", 100, Decimal("100"))
        assert (lo.status, lo.cum_qty) == ("expired", 0)  # the close, 100, is above the buy limit 99
        wire = sent_orders(tmp_path / "fix")
        # FIX 4.4 has no OrdType 5 or B: on-close is market or limit with TimeInForce 7, At the Close.
        assert (wire[m.cl_ord_id][40], wire[m.cl_ord_id][59], wire[m.cl_ord_id].get(44)) == ("1", "7", None)
        assert (wire[li.cl_ord_id][40], wire[li.cl_ord_id][59], wire[li.cl_ord_id][44]) == ("2", "7", "101")
        assert (wire[g.cl_ord_id][59], wire[g.cl_ord_id][126]) == ("6", "20261123-20:59:45.000")
    finally:
        oms.stop()
        sim.stop()
        oms.database.dispose()


def test_strategies_go_out_as_target_strategy_and_the_simulator_takes_them(tmp_path: Path) -> None:
    sim, oms = _run(tmp_path, ManualClock(OPEN), "--fill-parts", "2", "--now", OPEN.isoformat())
    try:
        pov, vwap = oms.create(
            draft(qty=200, strategy="pov", strategy_params=(("participation_rate", "0.15"),)),
            draft(qty=100, order_type="limit", limit_price=Decimal(101), strategy="vwap",
                  strategy_params=(("end_time", "15:30"),)),
        )  # fmt: skip
        oms.manager.route([pov, vwap])
        p, v = oms.wait(pov), oms.wait(vwap)
        assert (p.status, p.cum_qty, v.status, v.cum_qty) == ("filled", 200, "filled", 100)
        wire = sent_orders(tmp_path / "fix")
        assert {k: wire[p.cl_ord_id].get(k) for k in (847, 848, 849)} == {
            847: "2", 848: "participation_rate=0.15", 849: "0.15"
        }  # fmt: skip
        assert {k: wire[v.cl_ord_id].get(k) for k in (847, 848, 849)} == {
            847: "1",
            848: "end_time=15:30",
            849: None,
        }
        new = {
            e["cl_ord_id"]: (e["strategy"], e["strategy_params"]) for e in sim.events() if e["event"] == "new"
        }
        assert new == {p.cl_ord_id: ("2", "participation_rate=0.15"), v.cl_ord_id: ("1", "end_time=15:30")}
    finally:
        oms.stop()
        sim.stop()
        oms.database.dispose()
