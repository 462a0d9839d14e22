"""The fast lot read for revaluation (valuation.load_lot_values, BookCache) returns exactly the
stored lots, on SQLite and PostgreSQL: every number equal to the ORM's Decimal as a float, the
account's base currency and the security's currency and multiplier joined by id, and a
revaluation that equals quantity x close x multiplier x FX worked by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import select

from engine.pricing.cache import BookCache, revalue
from engine.pricing.fx import FxTable
from engine.pricing.valuation import VALUE_COLUMNS, load_lot_values
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.market import FxRate, PriceBar
from engine.store.positions import TaxLot
from engine.store.reference import Security
from tests.engine.reconcile.minibook import build

DAY = date(2026, 10, 30)
# Awkward stored values: six-decimal quantities and costs, a ten-decimal FX rate, a short lot.
ODD_LOTS = [
    ("A000001", "AAA", "L-ODD-1", "12.345678", "101.123456", "1.0000000000"),
    ("A000002", "BPX", "L-ODD-2", "0.000001", "99999.999999", "0.7891234567"),
    ("A000002", "AAA", "L-ODD-3", "-250.5", "33.333333", "0.8123456789"),
]


@pytest.fixture
def book(database: Database) -> Database:
    ids = build(database)
    with database.transaction() as s:
        accounts = dict(s.execute(select(Account.code, Account.id)).all())
        for code, sym, ref, qty, cost, rate in ODD_LOTS:
            s.add(
                TaxLot(account_id=accounts[code], security_id=ids[sym], lot_ref=ref, quantity=Decimal(qty),
                       unit_cost=Decimal(cost), acquired=date(2026, 3, 2), fx_rate=Decimal(rate))
            )  # fmt: skip
        for sym, close in (("AAA", "41.25"), ("VODX.L", "1.0375"), ("BPX.L", "4.80"), ("BPX", "29.10")):
            s.add(PriceBar(security_id=ids[sym], date=DAY, close=Decimal(close), volume=1000, source="test"))
        s.add(FxRate(base="EUR", quote="USD", date=DAY, rate=Decimal("1.0800"), source="test"))
        s.add(FxRate(base="EUR", quote="GBP", date=DAY, rate=Decimal("0.8400"), source="test"))
    return database


def test_lot_values_equal_the_stored_lots(book: Database) -> None:
    with book.session() as s:
        fast = load_lot_values(s)
        orm = s.execute(
            select(TaxLot, Account.base_currency, Security.currency, Security.price_multiplier)
            .join(Account, Account.id == TaxLot.account_id)
            .join(Security, Security.id == TaxLot.security_id)
            .order_by(TaxLot.id)
        ).all()
        first_account = orm[0][0].account_id
        only = load_lot_values(s, [first_account])
    assert list(fast.columns) == VALUE_COLUMNS
    assert len(fast) == len(orm) == 7
    for row, (lot, base, ccy, mult) in zip(fast.itertuples(index=False), orm, strict=True):
        assert (row.lot_id, row.account_id, row.security_id) == (lot.id, lot.account_id, lot.security_id)
        assert row.quantity == float(lot.quantity)
        assert row.unit_cost == float(lot.unit_cost)
        assert row.fx_rate == float(lot.fx_rate)
        assert (row.base_currency, row.currency, row.price_multiplier) == (base, ccy, float(mult))
    assert set(only["account_id"]) == {first_account}
    assert len(only) == sum(1 for lot, *_ in orm if lot.account_id == first_account)


def test_cached_revaluation_is_quantity_times_close_times_fx(book: Database) -> None:
    with book.session() as s:
        fx = FxTable.load(s, start=DAY, end=DAY)
        cache = BookCache.load(s, DAY, fx)
        closes = {sid: float(c) for sid, c in s.execute(select(PriceBar.security_id, PriceBar.close)).all()}
    valued = revalue(cache.lots, pd.Series(closes).sort_index(), fx, DAY)
    odd = valued[valued["quantity"] == -250.5].iloc[0]  # AAA (USD) in the GBP account
    usd_to_gbp = 0.84 / 1.08
    assert odd["mv_local"] == pytest.approx(-250.5 * 41.25)
    assert odd["mv_base"] == pytest.approx(-250.5 * 41.25 * usd_to_gbp, rel=1e-12)
    assert odd["cost_base"] == pytest.approx(-250.5 * 33.333333 * 0.8123456789, rel=1e-12)
