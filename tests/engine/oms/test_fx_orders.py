"""FX spot orders in the OMS without a network: a fill books two cash legs at the spot value date
(both currencies' calendars), never lots; a replayed execution books nothing twice; an FX block's
allocations sum to its fills. Runs on SQLite and PostgreSQL with the real accounting booker."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from engine.accounting.booking import LedgerBooker
from engine.accounting.tables import Booking
from engine.clock import ManualClock
from engine.oms.drafts import OrderDraft
from engine.oms.fx import ensure_fx_instruments
from engine.oms.messages import ExecReport, NewOrder
from engine.oms.service import OrderManager
from engine.oms.tables import Allocation, Order
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.positions import TaxLot
from tests.engine.oms.book import Gateway, PassAll, cash, make_book, make_oms

MON = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # spot: Wed 25 Nov (24th, 25th open in NY and Frankfurt)
TUE = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # spot: Fri 27 Nov (Thu 26th is Thanksgiving in NY)


@pytest.fixture
def oms(database: Database) -> Iterator[tuple[OrderManager, Gateway]]:
    make_book(database)
    ensure_fx_instruments(database, {("EUR", "USD")})
    gw = Gateway()
    yield (
        make_oms(database, gateway=gw, checker=PassAll(), booker=LedgerBooker(), clock=ManualClock(MON)),
        gw,
    )


def fill(
    cl: str, exec_id: str, last: str, px: str, cum: str, leaves: str, avg: str, at: datetime
) -> ExecReport:
    return ExecReport(
        broker="SIM", exec_id=exec_id, exec_type="F", ord_status="2" if Decimal(leaves) == 0 else "1",
        cl_ord_id=cl, last_qty=Decimal(last), last_px=Decimal(px), cum_qty=Decimal(cum),
        leaves_qty=Decimal(leaves), avg_px=Decimal(avg), transact_time=at,
    )  # fmt: skip


def counts(database: Database) -> tuple[int, int]:
    """(fx_spot bookings, tax lots) in the whole book."""
    with database.session() as s:
        fx = s.scalar(select(func.count()).select_from(Booking).where(Booking.kind == "fx_spot"))
        lots = s.scalar(select(func.count()).select_from(TaxLot))
    return int(fx or 0), int(lots or 0)


def cl_of(m: OrderManager, oid: int) -> str:
    with m.database.session() as s:
        o = s.get(Order, oid)
        assert o is not None
        return o.cl_ord_id


def test_an_eurusd_buy_books_two_cash_legs_at_spot_and_a_replay_books_nothing(oms) -> None:  # type: ignore[no-untyped-def]
    m, gw = oms
    [oid] = m.create([OrderDraft("ACC1", "EURUSD", "buy", Decimal(100000), broker="SIM")])
    m.route()
    [msg] = gw.sent
    assert isinstance(msg, NewOrder) and (msg.symbol, msg.mic) == ("EURUSD", "XOFF")
    cl = cl_of(m, oid)
    first = fill(cl, "E1", "50000", "1.08000", "50000", "50000", "1.08", MON)
    m.apply(first)
    last = fill(cl, "E2", "50000", "1.08200", "100000", "0", "1.081", MON)
    m.apply(last)
    # 100,000 EUR in; 50,000 x 1.08 + 50,000 x 1.082 = 108,100.00 USD out; value date T+2.
    assert cash(m.database, "ACC1") == {
        ("EUR", date(2026, 11, 25)): Decimal("100000.00"),
        ("USD", date(2026, 11, 25)): Decimal("-108100.00"),
    }
    assert counts(m.database) == (1, 0)  # one FX booking, no lots
    with m.database.session() as s:
        [a] = s.scalars(select(Allocation))
        assert (a.quantity, a.avg_px, a.settle_date) == (100000, Decimal("1.081"), date(2026, 11, 25))
        assert a.booked_at is not None
    for replay in (last, first):  # the broker resends: nothing moves
        m.apply(replay)
    assert m.duplicates == 2 and counts(m.database) == (1, 0)
    assert sum(cash(m.database, "ACC1").values()) == Decimal("100000.00") - Decimal("108100.00")


def test_a_sell_over_a_new_york_holiday_settles_after_it(oms) -> None:  # type: ignore[no-untyped-def]
    m, _ = oms
    m.clock.set(TUE)
    [oid] = m.create([OrderDraft("ACC2", "EURUSD", "sell", Decimal("2500.50"), broker="SIM")])
    m.route()
    m.apply(fill(cl_of(m, oid), "X1", "2500.50", "1.07913", "2500.50", "0", "1.07913", TUE))
    # 2,500.50 x 1.07913 = 2,697.825 + 0.539565 = 2,698.364565 -> 2,698.36 USD in; EUR out; Thanksgiving skipped.
    assert cash(m.database, "ACC2") == {
        ("EUR", date(2026, 11, 27)): Decimal("-2500.50"),
        ("USD", date(2026, 11, 27)): Decimal("2698.36"),
    }
    assert counts(m.database) == (1, 0)


def test_an_fx_block_allocates_its_fills_pro_rata_and_each_account_gets_its_legs(oms) -> None:  # type: ignore[no-untyped-def]
    m, gw = oms
    ids = m.create([OrderDraft(a, "EURUSD", "buy", Decimal(q), broker="SIM")
                    for a, q in (("ACC1", 30000), ("ACC2", 10000), ("ACC3", 20001))])  # fmt: skip
    [block] = m.build_blocks(ids)
    m.route([block])
    [msg] = gw.sent
    assert isinstance(msg, NewOrder) and msg.quantity == 60001
    cl = cl_of(m, block)
    m.apply(fill(cl, "B1", "30000", "1.08", "30000", "30001", "1.08", MON))  # then the rest is canceled
    m.apply(ExecReport(broker="SIM", exec_id="B2", exec_type="4", ord_status="4", cl_ord_id=cl,
                       cum_qty=Decimal(30000), leaves_qty=Decimal(0), avg_px=Decimal("1.08"),
                       transact_time=MON))  # fmt: skip
    with m.database.session() as s:
        allocs = {a.account_id: Decimal(a.quantity) for a in s.scalars(select(Allocation))}
        codes = dict(s.execute(select(Account.id, Account.code)).all())
    got = {codes[k]: v for k, v in allocs.items()}
    # Shares of 30,000 over 30,000/10,000/20,001 of 60,001: 14,999.75, 4,999.92, 10,000.33; floors
    # leave 2 units, given to the largest fractions (ACC2, then ACC1). They sum to the fill.
    assert got == {"ACC1": 15000, "ACC2": 5000, "ACC3": 10000}
    for account, qty in got.items():
        assert cash(m.database, account) == {
            ("EUR", date(2026, 11, 25)): qty,
            ("USD", date(2026, 11, 25)): -(qty * Decimal("1.08")).quantize(Decimal("0.01")),
        }
    assert counts(m.database) == (3, 0)
