"""A tiny book for corporate-action tests: the accounting test book, an acquirer and a spun-off
company, and operations users (two, for four-eyes) and a PM (no permission)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.accounting.booking import LedgerBooker
from engine.accounting.tables import RealizedGain
from engine.corporate.book import DueResult, book_due
from engine.corporate.entry import load
from engine.corporate.terms import ActionTerms
from engine.model.enums import Side
from engine.model.trades import TradeFill
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.people import User
from engine.store.positions import TaxLot
from engine.store.reference import Security
from tests.engine.accounting.book import build_small_book, security_row

D = Decimal
EX = date(2026, 3, 2)  # a Monday
PAY = date(2026, 3, 9)


@pytest.fixture
def book(database: Database) -> Iterator[Database]:
    build_small_book(database)
    with database.transaction() as s:
        s.add_all([security_row("NEWCO", "USD", "XNYS", "US"), security_row("SPIN", "USD", "XNYS", "US")])
        s.add_all(
            [
                User(username="ops1", display_name="Ops One", role="operations"),
                User(username="ops2", display_name="Ops Two", role="operations"),
                User(username="pm1", display_name="PM", role="portfolio_manager"),
            ]
        )
    yield database


def buy(db: Database, account: str, symbol: str, qty: str, price: str, on: date, ref: str) -> None:
    with db.transaction() as s:
        LedgerBooker().book(s, TradeFill(account, symbol, Side.BUY, D(qty), D(price), on, ref))


def sell(db: Database, account: str, symbol: str, qty: str, price: str, on: date, ref: str) -> None:
    with db.transaction() as s:
        LedgerBooker().book(s, TradeFill(account, symbol, Side.SELL, D(qty), D(price), on, ref))


def announce(db: Database, *terms: ActionTerms, user: str = "ops1") -> None:
    with db.transaction() as s:
        load(s, "vendor.csv", [(i + 2, t) for i, t in enumerate(terms)], username=user)


def book_on(db: Database, as_of: date, user: str = "ops2") -> DueResult:
    with db.transaction() as s:
        return book_due(s, as_of, username=user)


def lots(db: Database, account: str) -> list[tuple[str, str, Decimal, Decimal, date]]:
    """(symbol, lot_ref, quantity, unit cost, acquired) of the account's lots."""
    with db.session() as s:
        aid = s.scalars(select(Account.id).where(Account.code == account)).one()
        return [
            (sym, lot.lot_ref, D(lot.quantity), D(lot.unit_cost), lot.acquired)
            for lot, sym in s.execute(
                select(TaxLot, Security.symbol)
                .join(Security, Security.id == TaxLot.security_id)
                .where(TaxLot.account_id == aid)
                .order_by(Security.symbol, TaxLot.lot_ref)
            )
        ]


def gains(
    db: Database, account: str, sold: date = EX
) -> list[tuple[str, Decimal, Decimal, Decimal, Decimal, str, date]]:
    """(lot_ref, quantity, proceeds, cost, gain, term, acquired) realized on `sold`."""
    with db.session() as s:
        aid = s.scalars(select(Account.id).where(Account.code == account)).one()
        return [
            (
                g.lot_ref,
                D(g.quantity),
                D(g.proceeds_local),
                D(g.cost_local),
                D(g.gain_base),
                g.term,
                g.acquired,
            )
            for g in s.scalars(
                select(RealizedGain)
                .where(RealizedGain.account_id == aid, RealizedGain.sold == sold)
                .order_by(RealizedGain.id)
            )
        ]
