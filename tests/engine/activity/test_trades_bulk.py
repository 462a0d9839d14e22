"""The set-wise trade booker writes exactly what LedgerBooker writes one fill at a time.

A small demo book is copied twice; the same list of fills (sales at a loss and at a gain, buys,
a household's loss sold in one account and bought back in another the same day (a wash sale),
a buy then a sale of it in one account, a reference booked before) is booked one by one in one
copy and in bulk in the other. Every ledger table is then compared row by row (ids aside, and the
references that carry ids compared as they are), and the per-fill results too.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

import resources
from engine.accounting.booking import LedgerBooker
from engine.accounting.errors import BookingError
from engine.accounting.tables import Booking, CashMovement, RealizedGain
from engine.activity.trades_bulk import BulkTradeBooker
from engine.demo.build import build_demo_book
from engine.model.enums import Side
from engine.model.trades import TradeFill
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.market import FxRate
from engine.store.positions import CashBalance, TaxLot
from engine.store.reference import Security
from tests.conftest import migrated


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("bulk") / "book.db"
    db = migrated(f"sqlite:///{path}")
    build_demo_book(db, resources.path("reference"), accounts=40, seed=11, today=date(2026, 11, 22))
    db.dispose()
    yield path


def _copy(src: Path, dst: Path) -> Database:
    shutil.copy(src, dst)
    return Database(f"sqlite:///{dst}")


def _fills(db: Database) -> list[TradeFill]:
    """Fills over the book's lots on its last two fixing days (see the module docstring)."""
    with db.session() as s:
        days = sorted(
            d for (d,) in s.execute(select(FxRate.date).distinct().order_by(FxRate.date.desc()).limit(8))
        )
        d1, d2 = days[-6], days[-1]
        lots = s.execute(
            select(Account.code, Account.household_id, Account.tax_jurisdiction, Security.symbol,
                   func.sum(TaxLot.quantity), func.max(TaxLot.unit_cost), Security.lot_size)
            .join(Account, Account.id == TaxLot.account_id).join(Security, Security.id == TaxLot.security_id)
            .where(Security.asset_class == "equity")
            .group_by(Account.code, Account.household_id, Account.tax_jurisdiction, Security.symbol, Security.lot_size)
            .order_by(Account.code, Security.symbol)
        ).all()  # fmt: skip
    fills: list[TradeFill] = []
    by_hh: dict[int, list[tuple[str, str, Decimal, Decimal]]] = {}
    for code, hh, _jur, sym, qty, cost, _lot in lots:
        by_hh.setdefault(int(hh), []).append((str(code), str(sym), Decimal(qty), Decimal(cost)))
    n = 0
    for rows in by_hh.values():
        for k, (code, sym, qty, cost) in enumerate(rows[:4]):
            n += 1
            sell = (qty / 3).to_integral_value()
            if sell <= 0:
                continue
            loss = k % 2 == 0
            price = (cost * Decimal("0.7" if loss else "1.6")).quantize(Decimal("0.01"))
            fills.append(TradeFill(code, sym, Side.SELL, sell, price, d1, f"T-{n}-S"))
            others = [r for r in rows if r[0] != code]
            if loss and others:  # bought back the same day in another account of the household
                fills.append(TradeFill(others[0][0], sym, Side.BUY, sell, price, d1, f"T-{n}-W"))
            fills.append(TradeFill(code, sym, Side.BUY, Decimal(7), price, d1, f"T-{n}-B"))
            fills.append(TradeFill(code, sym, Side.SELL, Decimal(3), price + 1, d2, f"T-{n}-L"))
    fills.append(fills[0])  # a reference booked before: nothing again
    return fills


def _dump(db: Database) -> dict[str, list[tuple[object, ...]]]:
    with db.session() as s:
        ref = dict(s.execute(select(Booking.id, Booking.source_ref)).all())
        return {
            "bookings": [tuple(r) for r in s.execute(
                select(Booking.source_ref, Booking.kind, Booking.account_id, Booking.security_id, Booking.side,
                       Booking.quantity, Booking.price, Booking.currency, Booking.cash_amount, Booking.trade_date,
                       Booking.settle_date, Booking.lot_ref, Booking.replacement_used).order_by(Booking.id))],
            "lots": [tuple(r) for r in s.execute(
                select(TaxLot.account_id, TaxLot.security_id, TaxLot.lot_ref, TaxLot.quantity, TaxLot.unit_cost,
                       TaxLot.acquired, TaxLot.fx_rate).order_by(TaxLot.account_id, TaxLot.lot_ref))],
            "gains": [(ref[r[0]], *r[1:]) for r in s.execute(
                select(RealizedGain.booking_id, RealizedGain.account_id, RealizedGain.lot_ref,
                       RealizedGain.quantity, RealizedGain.acquired, RealizedGain.sold, RealizedGain.proceeds_local,
                       RealizedGain.cost_local, RealizedGain.proceeds_base, RealizedGain.cost_base,
                       RealizedGain.gain_base, RealizedGain.price_gain_base, RealizedGain.fx_gain_base,
                       RealizedGain.term, RealizedGain.wash_disallowed_base, RealizedGain.wash_unmatched_qty,
                       RealizedGain.wash_note).order_by(RealizedGain.id))],
            "moves": [(ref.get(r[0]), *r[1:]) for r in s.execute(
                select(CashMovement.booking_id, CashMovement.account_id, CashMovement.currency,
                       CashMovement.amount, CashMovement.kind, CashMovement.trade_date, CashMovement.settle_date,
                       CashMovement.settled, CashMovement.note).order_by(CashMovement.id))],
            "cash": [tuple(r) for r in s.execute(
                select(CashBalance.account_id, CashBalance.currency, CashBalance.settled, CashBalance.unsettled)
                .order_by(CashBalance.account_id, CashBalance.currency))],
        }  # fmt: skip


def test_bulk_booking_writes_what_the_single_fill_booker_writes(book: Path, tmp_path: Path) -> None:
    one, bulk = _copy(book, tmp_path / "one.db"), _copy(book, tmp_path / "bulk.db")
    fills = _fills(one)
    assert len(fills) > 100
    with one.transaction() as s:
        booker = LedgerBooker()
        singles = [booker.book(s, f) for f in fills]
    with bulk.transaction() as s:
        many = BulkTradeBooker(s).book_all(fills)
    a, b = _dump(one), _dump(bulk)
    for table in a:
        assert a[table] == b[table], table
    assert [(r.booking_id, r.cash_amount, r.settle_date, r.lot_opened) for r in singles] == [
        (r.booking_id, r.cash_amount, r.settle_date, r.lot_opened) for r in many if r is not None
    ]
    assert [[str((g.lot_ref, g.quantity, g.gain_base, g.term)) for g in r.realized] for r in singles] == [
        [str(g) for g in r.realized] for r in many if r is not None
    ]
    assert None not in many  # the same figures, down to their digits (the activity lines' detail)
    # the scenarios were there: wash sales matched, losses left unmatched, lots split and closed
    gains = a["gains"]
    assert any(g[14] > 0 for g in gains) and any(g[15] > 0 for g in gains)
    assert any("-W" in str(lot[2]) for lot in a["lots"])
    assert len(a["bookings"]) > len(_dump(Database(f"sqlite:///{book}"))["bookings"]) + 100
    one.dispose()
    bulk.dispose()


def test_a_refused_fill_is_refused_with_the_booker_s_reason(book: Path, tmp_path: Path) -> None:
    one, bulk = _copy(book, tmp_path / "one.db"), _copy(book, tmp_path / "bulk.db")
    fills = _fills(one)[:6]
    last = fills[0]
    oversell = TradeFill(last.account, last.symbol, Side.SELL, Decimal(10**9), last.price,
                         last.trade_date + timedelta(days=0), "T-OVER")  # fmt: skip
    errors = []
    for db, bulk_path in ((one, False), (bulk, True)):
        with pytest.raises(BookingError) as exc, db.transaction() as s:
            if bulk_path:
                BulkTradeBooker(s).book_all([*fills, oversell])
            else:
                booker = LedgerBooker()
                for f in [*fills, oversell]:
                    booker.book(s, f)
        errors.append(str(exc.value))
    assert errors[0] == errors[1] and "only" in errors[0]
    assert _dump(bulk) == _dump(Database(f"sqlite:///{book}"))  # the bulk path's writes rolled back whole
    one.dispose()
    bulk.dispose()
