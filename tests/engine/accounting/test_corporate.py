"""Corporate actions: splits, reverse splits, dividends with withholding, renames; each once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.accounting.booking import LedgerBooker
from engine.accounting.cash import cash_positions, settle_due
from engine.accounting.corporate import ActionSpec, apply_corporate_action
from engine.accounting.errors import BookingError
from engine.accounting.fxspot import book_cash_flow, book_fx_spot
from engine.accounting.tables import WithholdingRate
from engine.model.enums import Side
from engine.model.trades import LotPick, TradeFill
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.positions import TaxLot
from engine.store.reference import Security
from tests.engine.accounting.book import build_small_book

D = Decimal


@pytest.fixture
def book(database: Database) -> Iterator[Database]:
    build_small_book(database)
    with database.transaction() as s:
        b = LedgerBooker()
        b.book(s, TradeFill("A1", "XYZ", Side.BUY, D(100), D("30"), date(2026, 1, 5), "B1"))
        b.book(s, TradeFill("A1", "XYZ", Side.BUY, D(50), D("45"), date(2026, 2, 2), "B2"))
        b.book(s, TradeFill("E1", "XYZ", Side.BUY, D(10), D("40"), date(2026, 1, 5), "B3"))
        b.book(s, TradeFill("E1", "RY.TO", Side.BUY, D(20), D("100"), date(2026, 1, 5), "B4"))
    yield database


def lot_state(db: Database) -> list[tuple[int, str, Decimal, Decimal]]:
    with db.session() as s:
        return [
            (lot.account_id, lot.lot_ref, D(lot.quantity), D(lot.unit_cost))
            for lot in s.scalars(select(TaxLot).order_by(TaxLot.account_id, TaxLot.lot_ref))
            if lot.lot_ref != "B4"  # the Canadian holding
        ]


def cash(db: Database, code: str) -> dict[str, tuple[Decimal, Decimal]]:
    with db.session() as s:
        aid = s.scalars(select(Account.id).where(Account.code == code)).one()
        return {c.currency: (c.settled, c.unsettled) for c in cash_positions(s, aid)}


def test_split_then_reverse_split_keeps_cost_and_applies_once(book: Database) -> None:
    before = lot_state(book)
    split = ActionSpec("XYZ-S-2026", "XYZ", "split", date(2026, 3, 2), ratio_new=D(3), ratio_old=D(1))
    with book.transaction() as s:
        assert apply_corporate_action(s, split).lots == 3
    with book.transaction() as s:
        assert apply_corporate_action(s, split).applied is False  # replay changes nothing
    after = lot_state(book)
    assert [q for _, _, q, _ in after] == [300, 150, 30]
    for (_, _, q0, c0), (_, _, q1, c1) in zip(before, after):
        assert abs(q0 * c0 - q1 * c1) < D("0.0001")
    with book.transaction() as s:
        apply_corporate_action(
            s, ActionSpec("XYZ-R", "XYZ", "split", date(2026, 4, 1), ratio_new=D(1), ratio_old=D(3))
        )
    assert [(q, c) for _, _, q, c in lot_state(book)][:2] == [(100, D(30)), (50, D(45))]


def test_dividend_with_withholding_by_residence_and_effective_date(book: Database) -> None:
    with book.transaction() as s:
        # A treaty rate for German residents on US dividends, in force from 2026-01-01.
        s.add(
            WithholdingRate(
                source_country="US", residence="DE", effective_from=date(2026, 1, 1), rate=D("0.15")
            )
        )
        spec = ActionSpec(
            "XYZ-D1", "XYZ", "dividend", date(2026, 2, 2), pay_date=date(2026, 2, 20), amount=D("0.50")
        )
        res = apply_corporate_action(s, spec)
    # B2 (bought on the ex-date) earns nothing: A1 100 x 0.50, domestic, no withholding; E1 15%.
    assert res.payments == (("A1", D("50.00"), D("0.00")), ("E1", D("5.00"), D("0.75")))
    with book.transaction() as s:
        assert apply_corporate_action(s, spec).applied is False
    assert cash(book, "E1")["USD"][1] == D("-400.00") + D("4.25")
    with book.transaction() as s:
        settle_due(s, date(2026, 2, 20))
    assert cash(book, "E1")["USD"] == (D("-395.75"), D("0"))


def test_canadian_dividend_statutory_rate_for_non_resident(book: Database) -> None:
    with book.transaction() as s:
        res = apply_corporate_action(
            s, ActionSpec("RY-D", "RY.TO", "dividend", date(2026, 3, 2), amount=D("1.10"))
        )
    assert res.payments == (("E1", D("22.00"), D("5.50")),)  # Canada 25% statutory


def test_rename_keeps_lots_and_replay_is_a_no_op(book: Database) -> None:
    spec = ActionSpec(
        "XYZ-REN", "XYZ", "rename", date(2026, 5, 1), new_symbol="XYZN", new_isin="US0000000019"
    )
    with book.transaction() as s:
        apply_corporate_action(s, spec)
    with book.transaction() as s:
        assert apply_corporate_action(s, spec).applied is False
    with book.session() as s:
        sec = s.scalars(select(Security).where(Security.symbol == "XYZN")).one()
        assert sec.isin == "US0000000019"
        assert len(s.scalars(select(TaxLot).where(TaxLot.security_id == sec.id)).all()) == 3
    with book.transaction() as s:
        r = LedgerBooker().book(s, TradeFill("A1", "XYZN", Side.SELL, D(10), D("50"), date(2026, 5, 4), "S1"))
    assert r.realized[0].lot_ref == "B1"


def test_bad_action_changes_nothing(book: Database) -> None:
    before = lot_state(book)
    with pytest.raises(BookingError, match="ratio"), book.transaction() as s:
        apply_corporate_action(
            s, ActionSpec("X", "XYZ", "split", date(2026, 3, 2), ratio_new=D(0), ratio_old=D(1))
        )
    with pytest.raises(BookingError, match="already another security"), book.transaction() as s:
        apply_corporate_action(s, ActionSpec("Y", "XYZ", "rename", date(2026, 3, 2), new_symbol="ABC"))
    assert lot_state(book) == before


def test_fx_spot_moves_cash_between_ledgers_and_settles_t2(book: Database) -> None:
    with book.transaction() as s:
        r = book_fx_spot(
            s,
            account="E1",
            buy_currency="USD",
            buy_amount=D("1150"),
            sell_currency="EUR",
            sell_amount=D("1000"),
            trade_date=date(2026, 11, 25),
            source_ref="FX1",
        )
        again = book_fx_spot(
            s,
            account="E1",
            buy_currency="USD",
            buy_amount=D("1150"),
            sell_currency="EUR",
            sell_amount=D("1000"),
            trade_date=date(2026, 11, 25),
            source_ref="FX1",
        )
        cad = book_fx_spot(
            s,
            account="A1",
            buy_currency="CAD",
            buy_amount=D("1400"),
            sell_currency="USD",
            sell_amount=D("1000"),
            trade_date=date(2026, 11, 25),
            source_ref="FX2",
        )
        book_cash_flow(
            s, account="E1", currency="EUR", amount=D("5000"), on=date(2026, 11, 25), source_ref="DEP1"
        )
    assert r.settle_date == date(2026, 11, 30) and again.duplicate  # Thanksgiving is not a USD day
    assert cad.settle_date == date(2026, 11, 27)  # USD/CAD spot is T+1
    c = cash(book, "E1")
    assert c["EUR"] == (D("5000"), D("-1000")) and c["USD"][1] == D("-400") + D("1150")


def test_entitlement_goes_by_trade_date_not_a_wash_sale_adjusted_start(book: Database) -> None:
    # A1 sells B2 (50 @ 45) at a loss on 03-02 and buys 50 back on 03-12, after the 03-10 ex-date:
    # a wash sale moves the new lot's holding start back 28 days (to 02-12, before the ex-date),
    # but those shares were bought after it: no dividend for them, and a late split skips them.
    with book.transaction() as s:
        b = LedgerBooker()
        pick = (LotPick("B2", D(50)),)
        b.book(s, TradeFill("A1", "XYZ", Side.SELL, D(50), D(40), date(2026, 3, 2), "W-S", lots=pick))
        r = b.book(s, TradeFill("A1", "XYZ", Side.BUY, D(50), D(41), date(2026, 3, 12), "W-B"))
        lot = s.scalars(select(TaxLot).where(TaxLot.lot_ref == r.lot_opened)).one()
        assert lot.acquired == date(2026, 2, 12)  # holding period carried over
        div = apply_corporate_action(
            s, ActionSpec("XYZ-D", "XYZ", "dividend", date(2026, 3, 10), amount=D("1.00"))
        )
        split = apply_corporate_action(
            s, ActionSpec("XYZ-S", "XYZ", "split", date(2026, 3, 10), ratio_new=D(2), ratio_old=D(1))
        )
    assert dict((a, g) for a, g, _ in div.payments)["A1"] == D("100.00")  # B1's 100 shares only
    assert split.lots == 2  # B1 (A1) and B3 (E1); the 03-12 lot is already in new shares
    with book.session() as s:
        a1 = s.scalars(select(Account.id).where(Account.code == "A1")).one()
        qty = {lot.lot_ref: lot.quantity for lot in s.scalars(select(TaxLot).where(TaxLot.account_id == a1))}
    assert qty == {"B1": 200, r.lot_opened: 50}
