"""LedgerBooker: lots, relief methods, realized gains with FX split, settlement, idempotency."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.accounting.booking import LedgerBooker
from engine.accounting.cash import cash_positions, settle_due
from engine.accounting.errors import BookingError
from engine.accounting.tables import Booking, CashMovement, RealizedGain
from engine.model.enums import Side
from engine.model.trades import LotPick, TradeFill
from engine.ports import TradeBooker
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.positions import CashBalance, TaxLot
from tests.engine.accounting.book import build_small_book

D = Decimal


@pytest.fixture
def book(database: Database) -> Iterator[Database]:
    build_small_book(database)
    yield database


@pytest.fixture
def lite(sqlite_database: Database) -> Iterator[Database]:
    """The same book on SQLite only, for the many cases whose SQL is already covered on both."""
    build_small_book(sqlite_database)
    yield sqlite_database


def fill(ref: str, side: Side, qty: str, px: str, day: date, account: str = "A1", symbol: str = "XYZ", **kw):  # type: ignore[no-untyped-def]
    return TradeFill(
        account=account,
        symbol=symbol,
        side=side,
        quantity=D(qty),
        price=D(px),
        trade_date=day,
        source_ref=ref,
        **kw,
    )


def lots_of(db: Database, account: str, symbol_id: int | None = None) -> list[TaxLot]:
    with db.session() as s:
        aid = s.scalars(select(Account.id).where(Account.code == account)).one()
        q = select(TaxLot).where(TaxLot.account_id == aid).order_by(TaxLot.acquired, TaxLot.lot_ref)
        return list(s.scalars(q))


def test_it_is_a_trade_booker() -> None:
    booker: TradeBooker = LedgerBooker()
    assert hasattr(booker, "book")


def test_buy_opens_lot_with_costs_and_moves_unsettled_cash(book: Database) -> None:
    with book.transaction() as s:
        r = LedgerBooker().book(
            s, fill("T1", Side.BUY, "100", "50", date(2026, 11, 25), commission=D("5"), fees=D("0.25"))
        )
    # Thanksgiving (26 Nov 2026) is not an NYSE session: T+1 is Friday 27 Nov.
    assert r.settle_date == date(2026, 11, 27)
    assert r.cash_amount == D("-5005.25")
    (lot,) = lots_of(book, "A1")
    assert lot.quantity == 100 and lot.unit_cost == D("50.0525") and lot.fx_rate == 1
    with book.session() as s:
        bal = s.get(CashBalance, (lot.account_id, "USD"))
        assert bal is not None and bal.settled == 0 and bal.unsettled == D("-5005.25")
        (pos,) = cash_positions(s, lot.account_id)
        assert pos.buying_power == D("-5005.25")
    with book.transaction() as s:
        assert settle_due(s, date(2026, 11, 26)) == 0
        assert settle_due(s, date(2026, 11, 27)) == 1
    with book.session() as s:
        bal = s.get(CashBalance, (lot.account_id, "USD"))
        assert bal is not None and bal.settled == D("-5005.25") and bal.unsettled == 0


def test_same_source_ref_twice_changes_nothing(book: Database) -> None:
    f = fill("T1", Side.BUY, "10", "50", date(2026, 11, 2))
    with book.transaction() as s:
        first = LedgerBooker().book(s, f)
    with book.transaction() as s:
        again = LedgerBooker().book(s, f)
    assert again.duplicate and again.booking_id == first.booking_id and again.cash_amount == first.cash_amount
    assert len(lots_of(book, "A1")) == 1
    with book.session() as s:
        assert len(s.scalars(select(CashMovement)).all()) == 1
    with pytest.raises(BookingError, match="different terms"), book.transaction() as s:
        LedgerBooker().book(s, fill("T1", Side.BUY, "11", "50", date(2026, 11, 2)))


def test_bad_fill_writes_nothing(book: Database) -> None:
    with book.transaction() as s:
        LedgerBooker().book(s, fill("B1", Side.BUY, "10", "50", date(2026, 11, 2)))
    for bad, field in [
        (fill("S1", Side.SELL, "11", "50", date(2026, 11, 3)), "quantity"),
        (fill("S2", Side.SELL, "5", "50", date(2026, 11, 3), lots=(LotPick("nope", D(5)),)), "lots"),
        (fill("S3", Side.BUY, "5", "50", date(2026, 11, 3), account="ZZ"), "account"),
        (fill("S4", Side.BUY, "-5", "50", date(2026, 11, 3)), "quantity"),
    ]:
        with pytest.raises(BookingError) as err, book.transaction() as s:
            LedgerBooker().book(s, bad)
        assert err.value.field == field
    with book.session() as s:
        assert [b.source_ref for b in s.scalars(select(Booking))] == ["B1"]
        assert s.scalars(select(RealizedGain)).all() == []
    assert [lot.quantity for lot in lots_of(book, "A1")] == [10]


def _three_lots(db: Database, account: str = "A1") -> None:
    with db.transaction() as s:
        b = LedgerBooker()
        b.book(s, fill(f"{account}-L1", Side.BUY, "10", "100", date(2024, 3, 4), account=account))
        b.book(s, fill(f"{account}-L2", Side.BUY, "10", "150", date(2025, 3, 3), account=account))
        b.book(s, fill(f"{account}-L3", Side.BUY, "10", "80", date(2026, 3, 2), account=account))


@pytest.mark.parametrize(
    ("method", "picks", "expected"),
    [
        ("fifo", (), {"100": D(0), "150": D(5), "80": D(10)}),
        ("lifo", (), {"100": D(10), "150": D(5), "80": D(0)}),
        ("hifo", (), {"100": D(5), "150": D(0), "80": D(10)}),
        # Sale at 120 on 2026-06-01: 150 (long-term loss) first, then the long-term gain (100).
        ("min_tax", (), {"100": D(5), "150": D(0), "80": D(10)}),
        ("specific", ("L3:10", "L1:5"), {"100": D(5), "150": D(10), "80": D(0)}),
    ],
)
def test_lot_relief_methods(
    lite: Database, method: str, picks: tuple[str, ...], expected: dict[str, Decimal]
) -> None:
    with lite.transaction() as s:
        s.scalars(select(Account).where(Account.code == "E1")).one().lot_relief = method
    _three_lots(lite, "E1")
    with lite.session() as s:
        refs = {b.source_ref: b.lot_ref for b in s.scalars(select(Booking))}
    lot_picks = tuple(LotPick(refs[f"E1-{p.split(':')[0]}"], D(p.split(":")[1])) for p in picks)
    with lite.transaction() as s:
        LedgerBooker().book(
            s, fill("E1-S", Side.SELL, "15", "120", date(2026, 6, 1), account="E1", lots=lot_picks)
        )
    left = {f"{lot.unit_cost:.0f}": D(lot.quantity) for lot in lots_of(lite, "E1")}
    assert {k: v for k, v in expected.items() if v} == left


def test_us_holding_period_day_after_anniversary(lite: Database) -> None:
    with lite.transaction() as s:
        b = LedgerBooker()
        b.book(s, fill("L1", Side.BUY, "10", "100", date(2025, 1, 10)))
        r1 = b.book(s, fill("S1", Side.SELL, "5", "110", date(2026, 1, 9)))
        r2 = b.book(s, fill("S2", Side.SELL, "5", "110", date(2026, 1, 12)))
    # IRS Pub. 550: held "more than one year"; the day bought is not counted, the day sold is.
    assert r1.realized[0].term == "short"
    assert r2.realized[0].term == "long"


def test_anniversary_itself_is_short_term() -> None:
    from engine.accounting.holding import term

    assert term(date(2025, 1, 10), date(2026, 1, 10), 12) == "short"
    assert term(date(2025, 1, 10), date(2026, 1, 11), 12) == "long"
    assert term(date(2024, 2, 29), date(2025, 3, 1), 12) == "long"
    assert term(date(2024, 2, 29), date(2025, 2, 28), 12) == "short"


def test_foreign_lot_gain_splits_into_price_and_currency(book: Database) -> None:
    # A USD-based account buys a EUR stock in 2024 (EURUSD 1.10), sells in 2026 (EURUSD 1.15).
    with book.transaction() as s:
        b = LedgerBooker()
        buy = b.book(s, fill("F1", Side.BUY, "100", "200", date(2024, 6, 3), symbol="SAP.DE"))
        sell = b.book(s, fill("F2", Side.SELL, "100", "210", date(2026, 6, 2), symbol="SAP.DE"))
    assert buy.fx_rate == D("1.1") and buy.currency == "EUR" and buy.cash_amount == D("-20000.00")
    (line,) = sell.realized
    assert line.cost_base == D("22000.00")  # 20,000 EUR x 1.10
    assert line.proceeds_base == D("24150.00")  # 21,000 EUR x 1.15
    assert line.price_gain_base == D("1150.00")  # 1,000 EUR local gain at the sale rate
    assert line.fx_gain_base == D("1000.00")  # 20,000 EUR cost x (1.15 - 1.10)
    assert line.gain_base == D("2150.00") and line.term == "long"
    # XETR is T+2: Tuesday 2 June 2026 settles Thursday 4 June.
    assert sell.settle_date == date(2026, 6, 4)
    with book.session() as s:
        ccys = {c.currency: c.trade_date_balance for c in cash_positions(s, 1)}
    assert ccys == {"EUR": D("1000.00")}


def test_settlement_uses_cycle_in_force_on_trade_date(lite: Database) -> None:
    with lite.transaction() as s:
        b = LedgerBooker()
        old = b.book(s, fill("O1", Side.BUY, "1", "10", date(2024, 5, 24)))  # Friday before T+1
        new = b.book(s, fill("O2", Side.BUY, "1", "10", date(2024, 5, 28)))  # first T+1 day
    assert old.settle_date == date(2024, 5, 29)  # T+2 skipping Memorial Day (27 May)
    assert new.settle_date == date(2024, 5, 29)


def test_trade_date_and_settle_date_positions(lite: Database) -> None:
    from engine.accounting.positions import positions

    with lite.transaction() as s:
        b = LedgerBooker()
        b.book(s, fill("P1", Side.BUY, "100", "10", date(2026, 11, 2)))  # settles 3 Nov
        b.book(s, fill("P2", Side.SELL, "40", "11", date(2026, 11, 3)))  # settles 4 Nov
        b.book(s, fill("P3", Side.BUY, "10", "20", date(2026, 11, 3), symbol="SAP.DE"))  # XETR T+2: 5 Nov
    with lite.session() as s:
        aid = s.scalars(select(Account.id).where(Account.code == "A1")).one()
        on3 = {
            p.symbol: (p.trade_date_quantity, p.settle_date_quantity)
            for p in positions(s, aid, date(2026, 11, 3))
        }
        on4 = {
            p.symbol: (p.trade_date_quantity, p.settle_date_quantity)
            for p in positions(s, aid, date(2026, 11, 4))
        }
    assert on3 == {"XYZ": (D(60), D(100)), "SAP.DE": (D(10), D(0))}
    assert on4 == {"XYZ": (D(60), D(60)), "SAP.DE": (D(10), D(0))}


def test_booked_lots_value_on_both_backends(book: Database) -> None:
    """The raw-cursor read (floats on SQLite, Decimal and dates on PostgreSQL) values booked lots."""
    from engine.reports.holdings import holdings_report
    from engine.store.market import PriceBar
    from engine.store.reference import Security

    with book.transaction() as s:
        b = LedgerBooker()
        b.book(s, fill("V1", Side.BUY, "100", "50", date(2026, 6, 1)))
        b.book(s, fill("V2", Side.BUY, "10", "200", date(2026, 6, 1), symbol="SAP.DE"))
        ids = dict(s.execute(select(Security.symbol, Security.id)).all())
        s.add(PriceBar(security_id=ids["XYZ"], date=date(2026, 6, 30), close=D("55.5"), source="test"))
        s.add(PriceBar(security_id=ids["SAP.DE"], date=date(2026, 6, 29), close=D("210"), source="test"))
        aid = s.scalars(select(Account.id).where(Account.code == "A1")).one()
    with book.session() as s:
        doc = holdings_report(s, [aid], date(2026, 6, 30), by="lot")
    rows = {r["symbol"]: r for r in doc["rows"]}
    assert rows["XYZ"]["market_value_base"] == pytest.approx(5550.0)
    assert rows["SAP.DE"]["market_value_local"] == pytest.approx(2100.0)
    assert rows["SAP.DE"]["market_value_base"] == pytest.approx(2100.0 * 1.15)  # EURUSD 2026 in the test book
    assert rows["SAP.DE"]["acquired"] == "2026-06-01" and rows["XYZ"]["lot_ref"].startswith("B")
    assert doc["cash"][0]["currency"] in {"EUR", "USD"}
