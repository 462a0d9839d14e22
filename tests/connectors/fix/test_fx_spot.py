"""An FX spot order end to end: the real OMS routes an EURUSD buy over real FIX on 127.0.0.1 to the
SIMULATED broker (its own process, quoting from the book's FX table), which fills it; the OMS books
two cash legs at the spot value date, never lots, and every execution report it receives twice
(the broker resends each one with PossResend) books nothing twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.accounting.booking import LedgerBooker
from engine.accounting.tables import Booking
from engine.clock import ManualClock
from engine.oms.drafts import OrderDraft
from engine.oms.fx import ensure_fx_instruments
from engine.oms.messages import ExecReport
from engine.oms.tables import Execution
from engine.store.market import FxRate
from engine.store.positions import TaxLot
from tests.conftest import migrated
from tests.connectors.fix.harness import Oms, Sim
from tests.engine.oms.book import PassAll, cash, make_book

TUE = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
"""Tuesday 24 November 2026: spot is Friday 27th, Thanksgiving (Thu 26th) is no New York business day."""
RATE = Decimal("1.08")  # EUR/USD fixing in the book; the simulator fills within 0.2 % of it


def test_an_eurusd_buy_routes_fills_and_books_two_cash_legs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'book.db'}"
    db = migrated(url)
    make_book(db)
    ensure_fx_instruments(db, {("EUR", "USD")})
    with db.transaction() as s:
        for k in range(5):  # the week before; the last fixing is Friday 20 November
            s.add(FxRate(base="EUR", quote="USD", date=date(2026, 11, 16) + timedelta(days=k), rate=RATE,
                         source="test"))  # fmt: skip
    monkeypatch.setenv("WORKSTATION_DB", url)  # the simulator reads its quotes from this book
    sim = Sim(tmp_path, "--prices-from-db", "--fill-parts", "2", "--duplicate-rate", "1",
              "--now", TUE.isoformat()).ready()  # fmt: skip
    oms = None
    try:
        oms = Oms(db, tmp_path, sim.port, checker=PassAll(), booker=LedgerBooker(), clock=ManualClock(TUE))
        [oid] = oms.create(OrderDraft("ACC1", "EURUSD", "buy", Decimal(100000), broker="SIM"))
        oms.manager.route([oid])
        o = oms.wait(oid)
        assert (o.status, o.cum_qty, o.leaves_qty) == ("filled", 100000, 0)
        oms.drain(0.5)  # the resent copies of the last reports
        with db.session() as s:
            fills = s.execute(
                select(Execution.exec_id, Execution.last_qty, Execution.last_px).where(
                    Execution.order_id == oid, Execution.exec_type == "F"
                )
            ).all()
            assert s.scalar(select(func.count()).select_from(Booking).where(Booking.kind == "fx_spot")) == 1
            assert s.scalar(select(func.count()).select_from(TaxLot)) == 0  # the account's lots: none made
        assert len(fills) == 2 and sum(Decimal(q) for _, q, _ in fills) == 100000
        assert all(abs(Decimal(p) / RATE - 1) <= Decimal("0.002") for _, _, p in fills)
        usd = sum(Decimal(q) * Decimal(p) for _, q, p in fills).quantize(Decimal("0.01"))
        assert cash(db, "ACC1") == {
            ("EUR", date(2026, 11, 27)): Decimal("100000.00"),
            ("USD", date(2026, 11, 27)): -usd,
        }
        assert oms.manager.duplicates >= 3  # ack and two fills, each received twice over FIX
        [(exec_id, q, p)] = fills[-1:]
        oms.manager.apply(  # and once more by hand, as a replay after a restart would
            ExecReport(broker="SIM", exec_id=exec_id, exec_type="F", ord_status="2", cl_ord_id=o.cl_ord_id,
                       last_qty=Decimal(q), last_px=Decimal(p), cum_qty=Decimal(100000), poss_dup=True)
        )  # fmt: skip
        assert cash(db, "ACC1")[("USD", date(2026, 11, 27))] == -usd
        new = [e for e in sim.events() if e["event"] == "new"]
        assert [(e["symbol"], e["qty"]) for e in new] == [("EURUSD", "100000")]
    finally:
        if oms is not None:
            oms.stop()
        sim.stop()
        db.dispose()
