"""Wash sales against IRS Publication 550 ("Wash Sales", examples 1 and 2) and household rules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.accounting.booking import LedgerBooker
from engine.accounting.tables import RealizedGain
from engine.model.enums import Side
from engine.model.trades import TradeFill
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.positions import TaxLot
from engine.store.reference import Security
from tests.engine.accounting.book import build_small_book

D = Decimal


@pytest.fixture
def book(sqlite_database: Database) -> Iterator[Database]:
    build_small_book(sqlite_database)
    yield sqlite_database


def f(
    ref: str, side: Side, qty: int, px: str, day: date, account: str = "A1", symbol: str = "XYZ"
) -> TradeFill:
    return TradeFill(account, symbol, side, D(qty), D(px), day, ref)


def lots(db: Database, account: str) -> list[TaxLot]:
    with db.session() as s:
        aid = s.scalars(select(Account.id).where(Account.code == account)).one()
        return list(s.scalars(select(TaxLot).where(TaxLot.account_id == aid).order_by(TaxLot.lot_ref)))


def gains(db: Database) -> list[RealizedGain]:
    with db.session() as s:
        return list(s.scalars(select(RealizedGain).order_by(RealizedGain.id)))


def test_pub550_example_1_full_replacement(book: Database) -> None:
    """Pub. 550: buy 100 for $1,000, sell for $750, buy 100 within 30 days for $800: basis $1,050."""
    with book.transaction() as s:
        b = LedgerBooker()
        b.book(s, f("B1", Side.BUY, 100, "10", date(2025, 1, 6)))
        b.book(s, f("S1", Side.SELL, 100, "7.5", date(2026, 2, 2)))
        b.book(s, f("B2", Side.BUY, 100, "8", date(2026, 2, 20)))
    (g,) = gains(book)
    assert g.gain_base == D("-250") and g.wash_disallowed_base == D("250") and g.wash_unmatched_qty == 0
    assert "wash sale" in (g.wash_note or "") and "B2" in (g.wash_note or "")
    (lot,) = lots(book, "A1")
    assert lot.quantity == 100 and lot.quantity * lot.unit_cost == D("1050")
    # Holding period of the sold shares (6 Jan 2025 to 2 Feb 2026, 392 days) is carried over.
    assert lot.acquired == date(2025, 1, 24)


def test_pub550_example_2_partial_replacement(book: Database) -> None:
    """Pub. 550: sell 100 at a $250 loss, buy back 50 for $400: $125 disallowed, basis $525."""
    with book.transaction() as s:
        b = LedgerBooker()
        b.book(s, f("B1", Side.BUY, 100, "10", date(2025, 1, 6)))
        b.book(s, f("S1", Side.SELL, 100, "7.5", date(2026, 2, 2)))
        b.book(s, f("B2", Side.BUY, 50, "8", date(2026, 3, 4)))  # the 30th day after the sale
    (g,) = gains(book)
    assert g.wash_disallowed_base == D("125") and g.wash_unmatched_qty == 50
    (lot,) = lots(book, "A1")
    assert lot.quantity * lot.unit_cost == D("525")


def test_buy_31_days_later_is_not_a_wash(book: Database) -> None:
    with book.transaction() as s:
        b = LedgerBooker()
        b.book(s, f("B1", Side.BUY, 100, "10", date(2025, 1, 6)))
        b.book(s, f("S1", Side.SELL, 100, "7.5", date(2026, 2, 2)))
        b.book(s, f("B2", Side.BUY, 100, "8", date(2026, 3, 5)))
    (g,) = gains(book)
    assert g.wash_disallowed_base == 0
    assert lots(book, "A1")[0].unit_cost == D("8")


def test_purchase_before_the_sale_in_another_household_account_adr_counts(book: Database) -> None:
    """An ADR and its ordinary are substantially identical; A3 is in the same household."""
    with book.transaction() as s:
        b = LedgerBooker()
        b.book(s, f("B1", Side.BUY, 10, "200", date(2026, 1, 5), symbol="SAP.DE"))  # EURUSD 1.15
        b.book(s, f("B2", Side.BUY, 4, "180", date(2026, 5, 20), account="A3", symbol="SAP"))
        b.book(s, f("S1", Side.SELL, 10, "150", date(2026, 6, 1), symbol="SAP.DE"))
    (g,) = gains(book)
    # Loss 10 x 50 EUR x 1.15 = 575 USD; 4 of 10 shares replaced: 230 USD disallowed.
    assert g.gain_base == D("-575") and g.wash_disallowed_base == D("230")
    (lot,) = lots(book, "A3")
    assert lot.quantity * lot.unit_cost == D("720") + D("230")


def test_replacement_in_ira_disallows_permanently(book: Database) -> None:
    with book.transaction() as s:
        b = LedgerBooker()
        b.book(s, f("B1", Side.BUY, 100, "10", date(2025, 1, 6)))
        b.book(s, f("S1", Side.SELL, 100, "7.5", date(2026, 2, 2)))
        b.book(s, f("B2", Side.BUY, 100, "8", date(2026, 2, 10), account="A2"))
    (g,) = gains(book)
    assert g.wash_disallowed_base == D("250") and "permanently" in (g.wash_note or "")
    assert lots(book, "A2")[0].unit_cost == D("8")  # no basis added in the IRA


def test_selling_the_shares_just_bought_is_not_its_own_replacement(book: Database) -> None:
    with book.transaction() as s:
        b = LedgerBooker()
        b.book(s, f("B1", Side.BUY, 100, "10", date(2026, 2, 2)))
        b.book(s, f("S1", Side.SELL, 100, "9", date(2026, 2, 10)))
    (g,) = gains(book)
    assert g.gain_base == D("-100") and g.wash_disallowed_base == 0 and g.wash_unmatched_qty == 100


def test_non_us_account_has_no_wash_sale(book: Database) -> None:
    with book.transaction() as s:
        b = LedgerBooker()
        b.book(s, f("B1", Side.BUY, 100, "10", date(2025, 1, 6), account="E1"))
        b.book(s, f("S1", Side.SELL, 100, "7.5", date(2026, 2, 2), account="E1"))
        b.book(s, f("B2", Side.BUY, 100, "8", date(2026, 2, 20), account="E1"))
    assert gains(book)[0].wash_disallowed_base == 0


def test_gain_is_never_a_wash(book: Database) -> None:
    with book.transaction() as s:
        b = LedgerBooker()
        b.book(s, f("B1", Side.BUY, 100, "10", date(2025, 1, 6)))
        b.book(s, f("S1", Side.SELL, 100, "12", date(2026, 2, 2)))
        b.book(s, f("B2", Side.BUY, 100, "8", date(2026, 2, 20)))
    assert gains(book)[0].wash_disallowed_base == 0 and lots(book, "A1")[0].unit_cost == D("8")


def test_adr_replacement_counts_in_ordinary_equivalents(book: Database) -> None:
    with book.transaction() as s:
        s.scalars(select(Security).where(Security.symbol == "SAP")).one().adr_ratio = D(2)
    with book.transaction() as s:
        b = LedgerBooker()
        b.book(s, f("B1", Side.BUY, 10, "200", date(2026, 1, 5), symbol="SAP.DE"))
        b.book(s, f("S1", Side.SELL, 10, "150", date(2026, 6, 1), symbol="SAP.DE"))
        b.book(s, f("B2", Side.BUY, 3, "350", date(2026, 6, 15), account="A3", symbol="SAP"))
    (g,) = gains(book)
    # 3 ADRs stand for 6 ordinary shares: 6 of 10 shares' loss (575 USD) is disallowed.
    assert g.wash_disallowed_base == D("345") and g.wash_unmatched_qty == 4
    (lot,) = lots(book, "A3")
    assert lot.quantity == 3 and lot.quantity * lot.unit_cost == D("1050") + D("345")
