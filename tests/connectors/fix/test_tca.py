"""Transaction cost analysis end to end over a real QuickFIX session with the SIMULATED broker in
its own process: orders released (arrival price marked), filled in part and cancelled by the broker
(opportunity cost on the rest), then the report's numbers against an independent computation from
the stored executions and market prints, and the prints against the simulated tape recomputed here."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.broker_sim.tape import SimulatedTape
from engine.access.users import create_user
from engine.clock import ManualClock
from engine.errors import PermissionDenied
from engine.oms.marks_tables import MarketPrintRow, OrderMarks
from engine.oms.tables import Execution, Order
from engine.store.market import FxRate
from engine.store.people import AuditEntry
from engine.store.reference import Security
from engine.tca.report import tca_report
from tests.conftest import migrated
from tests.connectors.fix.harness import OPEN, Oms, Sim, draft
from tests.engine.oms.book import PassAll, RecordingBooker, make_book

BPS = Decimal(10_000)
GBPUSD = Decimal("1.25")


def _q(x: Decimal, places: str) -> Decimal:
    return x.quantize(Decimal(places), rounding=ROUND_HALF_EVEN)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One book, one simulator: a buy of AAPL and a sell of VOD.L, each filled one part in three and
    then cancelled by the broker (--unsolicited-cancel-rate 1), both marked by the OMS."""
    tmp: Path = tmp_path_factory.mktemp("tca")
    db = migrated(f"sqlite:///{tmp / 'book.db'}")
    make_book(db)
    with db.transaction() as s:
        create_user(s, None, "ad1", "Admin", "admin", "admin password 1")
        create_user(s, "ad1", "co1", "Compliance One", "compliance", "compliance password 1")
        create_user(s, "ad1", "pm1", "PM One", "portfolio_manager", "pm password 1")
        for n in range(-10, 25):
            s.add(
                FxRate(base="GBP", quote="USD", date=OPEN.date() + timedelta(days=n), rate=GBPUSD, source="t")
            )
    sim = Sim(tmp, "--fill-parts", "3", "--unsolicited-cancel-rate", "1", "--now", OPEN.isoformat()).ready()
    tape = SimulatedTape({}, seed=7)
    oms = Oms(db, tmp, sim.port, checker=PassAll(), booker=RecordingBooker(), clock=ManualClock(OPEN),
              market_data=tape)  # fmt: skip
    try:
        ids = oms.manager.create([draft(qty=300)], username="tr1")
        ids += oms.manager.create(
            [draft(account="ACC2", symbol="VOD.L", qty=600, side="sell")], username="tr2"
        )
        oms.manager.route(ids)
        for i in ids:
            oms.wait(i)
        assert oms.loop.run_until(lambda: _captured(db, ids), 15), "marks not captured"
        yield db, ids, tape
    finally:
        oms.stop()
        sim.stop()
        db.dispose()


def _captured(db, ids) -> bool:  # type: ignore[no-untyped-def]
    with db.session() as s:
        marks = s.scalars(select(OrderMarks).where(OrderMarks.order_id.in_(ids))).all()
        return len(marks) == len(ids) and all(m.captured_at is not None for m in marks)


def test_marks_are_the_simulated_markets(run) -> None:  # type: ignore[no-untyped-def]
    db, ids, tape = run
    with db.session() as s:
        for oid in ids:
            m = s.get(OrderMarks, oid)
            o = s.get_one(Order, oid)
            sym = s.get_one(Security, o.security_id).symbol
            assert m is not None and m.source == "simulated"
            assert m.arrival_at == OPEN and m.arrival_px == tape.last(sym, OPEN).price  # type: ignore[union-attr]
            fills = s.scalars(
                select(Execution).where(Execution.order_id == oid, Execution.exec_type == "F")
            ).all()
            assert len(fills) == 1  # one part of three, then the broker cancelled the rest
            assert (m.interval_from, m.interval_to) == (fills[0].transact_time, fills[0].transact_time)
            # The broker filled at the tape's price of the moment (priced just before its TransactTime).
            at = fills[0].transact_time
            assert at is not None
            assert fills[0].last_px in {
                tape.price(sym, at),
                tape.price(sym, at - timedelta(seconds=tape.step)),
            }
            last = max(e.transact_time for e in s.scalars(select(Execution).where(Execution.order_id == oid)))
            assert m.end_at == last and m.end_px == tape.last(sym, last).price  # type: ignore[union-attr]
            stored = s.execute(
                select(MarketPrintRow.at, MarketPrintRow.price, MarketPrintRow.quantity)
                .join(Security, Security.id == MarketPrintRow.security_id)
                .where(Security.symbol == sym)
                .order_by(MarketPrintRow.at)
            ).all()
            expect = tape.prints(sym, m.interval_from, m.interval_to)  # type: ignore[arg-type]
            assert [tuple(r) for r in stored] == [(p.at, p.price, p.quantity) for p in expect]
            assert m.prints == len(expect) >= 1


def _expected(s, oid: int, tape: SimulatedTape) -> dict[str, Decimal]:  # type: ignore[no-untyped-def]
    """The order's costs by hand from what is stored: executions, marks, market prints."""
    o = s.get_one(Order, oid)
    m = s.get_one(OrderMarks, oid)
    sign = Decimal(1) if o.side == "buy" else Decimal(-1)
    fills = s.execute(
        select(Execution.last_qty, Execution.last_px).where(
            Execution.order_id == oid, Execution.exec_type == "F"
        )
    ).all()
    filled = sum(q for q, _ in fills)
    avg = sum(q * p for q, p in fills) / filled
    prints = s.execute(
        select(MarketPrintRow.price, MarketPrintRow.quantity).where(
            MarketPrintRow.security_id == o.security_id,
            MarketPrintRow.at <= m.interval_to,
            MarketPrintRow.at > m.interval_from - timedelta(seconds=tape.step),
        )
    ).all()
    vwap = sum(p * q for p, q in prints) / sum(q for _, q in prints)
    a, e = m.arrival_px, m.end_px
    execution = sign * filled * (avg - a)
    opportunity = sign * (o.quantity - filled) * (e - a)
    shortfall = execution + opportunity
    fx = GBPUSD if o.currency == "GBP" else Decimal(1)
    return {
        "filled": filled,
        "execution": execution,
        "opportunity": opportunity,
        "shortfall": shortfall,
        "shortfall_base": shortfall * fx,
        "paper_base": o.quantity * a * fx,
        "bps": shortfall / (o.quantity * a) * BPS,
        "vs_arrival": sign * (avg - a) / a * BPS,
        "vs_vwap": sign * (avg - vwap) / vwap * BPS,
        "vwap": vwap,
        "fx": fx,
    }


def test_report_matches_a_hand_computation(run) -> None:  # type: ignore[no-untyped-def]
    db, ids, tape = run
    with db.session() as s:
        doc = tca_report(s, "co1", OPEN.date(), OPEN.date())
        want = {oid: _expected(s, oid, tape) for oid in ids}
    rows = {r["order_id"]: r for r in doc["orders"]}
    assert set(rows) == set(ids)
    for oid, w in want.items():
        r = rows[oid]
        ccy = r["currency"]
        assert r["missing"] == []
        assert r["filled"] == w["filled"] and r["fill_rate"] == _q(w["filled"] / r["quantity"], "0.0001")
        assert r["execution_cost"] == _q(w["execution"], "0.01")
        assert r["opportunity_cost"] == _q(w["opportunity"], "0.01")
        assert r["shortfall"] == _q(w["shortfall"], "0.01") and ccy in ("USD", "GBP")
        assert r["shortfall_base"] == _q(w["shortfall_base"], "0.01")
        assert r["shortfall_bps"] == _q(w["bps"], "0.01")
        assert r["slippage_arrival_bps"] == _q(w["vs_arrival"], "0.01")
        assert r["slippage_vwap_bps"] == _q(w["vs_vwap"], "0.01")
        assert r["interval_vwap"] == _q(w["vwap"], "0.000001")
        assert r["fees"] is None  # the simulated broker reports no commission
    # Per trader (one order each) and in total: weighted by the paper notional in USD.
    by_trader = {g["trader"]: g for g in doc["by_trader"]}
    assert set(by_trader) == {"tr1", "tr2"}
    total_is = sum(w["shortfall_base"] for w in want.values())
    total_paper = sum(w["paper_base"] for w in want.values())
    assert doc["total"]["orders"] == 2 and doc["total"]["unmeasured"] == 0
    assert doc["total"]["shortfall"] == _q(total_is, "0.01")
    assert doc["total"]["shortfall_bps"] == _q(total_is / total_paper * BPS, "0.01")
    assert [g["broker"] for g in doc["by_broker"]] == ["SIM"] and doc["by_broker"][0]["orders"] == 2
    assert doc["by_broker"][0]["shortfall_bps"] == doc["total"]["shortfall_bps"]
    assert doc["total"]["fill_rate"] == _q(
        sum(w["filled"] * w["paper_base"] / (rows[o]["quantity"]) for o, w in want.items()) / total_paper,
        "0.0001",
    )
    # A filter keeps one trader's order only.
    with db.session() as s:
        one = tca_report(s, "co1", OPEN.date(), OPEN.date(), trader="tr2")
    assert [r["trader"] for r in one["orders"]] == ["tr2"]


def test_a_portfolio_manager_may_not_read_it(run) -> None:  # type: ignore[no-untyped-def]
    db, _, _ = run
    with db.session() as s, pytest.raises(PermissionDenied):
        tca_report(s, "pm1", OPEN.date(), OPEN.date())
    with db.session() as s:
        denied = s.scalars(select(AuditEntry).where(AuditEntry.action == "permission.denied")).all()
    assert any(d.entity_id == "tca.read" and d.username == "pm1" for d in denied)
    # Nothing outside the range.
    with db.session() as s:
        assert tca_report(s, "co1", date(2026, 11, 24), date(2026, 11, 30))["orders"] == []
