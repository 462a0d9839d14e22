"""Historical holdings rebuilt from lots, splits and the cash ledger, against a book worked by hand.

Account A1 (USD base, small book of tests/engine/accounting/book.py; CAD = 1.15 / 1.60 = 0.71875
USD all through 2026). Range 2026-03-02 .. 2026-03-16, every weekday priced:

- 2026-02-27 deposit 10,000 USD (before the range: inside the first value)
- 03-03 buy 100 XYZ @ 20                       USD 10,000 -> 8,000
- 03-04 FX spot: buy 1,600 CAD for 1,000 USD;  buy 10 RY.TO @ 100 CAD (CAD 600 left)
- 03-05 sell 40 XYZ @ 22 (pre-split shares)    USD 7,000 -> 7,880
- 03-09 XYZ 2:1 split (ex-date): 60 -> 120 shares
- 03-10 10 ABC arrive without a booked trade (a transfer in kind: a flow of 10 x 50 = 500)
- 03-11 XYZ dividend 0.50/sh ex-date (120 x 0.50 = 60, no withholding for a US holder)
- 03-12 withdrawal of 500 USD (a flow of -500)
- 03-13 sell 50 XYZ @ 12 (post-split shares)   USD 7,440 -> 8,040
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert, select

from engine.accounting.booking import LedgerBooker
from engine.accounting.corporate import ActionSpec, apply_corporate_action
from engine.accounting.fxspot import book_cash_flow, book_fx_spot
from engine.analytics import MissingValueError, time_weighted_return
from engine.model.enums import Side
from engine.model.trades import TradeFill
from engine.pricing.fx import FxTable
from engine.reports.history import account_history
from engine.reports.holdings import holdings_report
from engine.reports.performance import performance_report
from engine.reports.scope import account_ids
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.market import PriceBar
from engine.store.positions import TaxLot
from engine.store.reference import Security
from tests.engine.accounting.book import build_small_book

D = Decimal
DAYS = ["03-02", "03-03", "03-04", "03-05", "03-06", "03-09", "03-10", "03-11", "03-12", "03-13", "03-16"]
XYZ = [19, 20, 21, 22, 21.5, 11, 11.2, 10.9, 11.1, 12, 12.5]
RY = [98, 99, 100, 101, 102, 100, 103, 104, 105, 106, 107]
ABC = [48, 48, 48, 48, 49, 49, 50, 51, 52, 53, 54]
CAD = 0.71875

# Worked by hand, end of each day: quantities, cash per currency, value in USD, flows.
Q_XYZ = [0, 100, 100, 60, 60, 120, 120, 120, 120, 70, 70]
Q_RY = [0, 0, 10, 10, 10, 10, 10, 10, 10, 10, 10]
Q_ABC = [0, 0, 0, 0, 0, 0, 10, 10, 10, 10, 10]
USD_CASH = [10000, 8000, 7000, 7880, 7880, 7880, 7880, 7940, 7440, 8040, 8040]
CAD_CASH = [0, 0, 600, 600, 600, 600, 600, 600, 600, 600, 600]
VALUE = [
    10000.0,  # cash only
    10000.0,  # 8,000 + 100 x 20
    10250.0,  # 7,000 + 100 x 21 + (10 x 100 + 600) x 0.71875
    10357.1875,  # 7,880 + 60 x 22 + (1,010 + 600) x 0.71875
    10334.375,  # 7,880 + 60 x 21.5 + 1,620 x 0.71875
    10350.0,  # 7,880 + 120 x 11 + 1,600 x 0.71875
    10895.5625,  # 7,880 + 120 x 11.2 + 10 x 50 + 1,630 x 0.71875
    10936.75,  # 7,940 + 120 x 10.9 + 10 x 51 + 1,640 x 0.71875
    10477.9375,  # 7,440 + 120 x 11.1 + 10 x 52 + 1,650 x 0.71875
    10603.125,  # 8,040 + 70 x 12 + 10 x 53 + 1,660 x 0.71875
    10655.3125,  # 8,040 + 70 x 12.5 + 10 x 54 + 1,670 x 0.71875
]
FLOW = [0, 0, 0, 0, 0, 0, 500, 0, -500, 0, 0]


def day(md: str) -> date:
    return date.fromisoformat(f"2026-{md}")


@pytest.fixture
def book(database: Database) -> Iterator[Database]:
    build_small_book(database)
    with database.transaction() as s:
        ids = {
            sym: s.scalars(select(Security.id).where(Security.symbol == sym)).one()
            for sym in ("XYZ", "RY.TO", "ABC")
        }
        rows = [
            dict(security_id=ids[sym], date=day(md), close=D(str(px)), source="test")
            for sym, series in (("XYZ", XYZ), ("RY.TO", RY), ("ABC", ABC))
            for md, px in zip(DAYS, series)
        ]
        s.execute(insert(PriceBar), rows)
        b = LedgerBooker()
        book_cash_flow(s, account="A1", currency="USD", amount=D(10000), on=day("02-27"), source_ref="DEP")
        b.book(s, TradeFill("A1", "XYZ", Side.BUY, D(100), D(20), day("03-03"), "T1"))
        book_fx_spot(
            s, account="A1", buy_currency="CAD", buy_amount=D(1600), sell_currency="USD",
            sell_amount=D(1000), trade_date=day("03-04"), source_ref="FX1",
        )  # fmt: skip
        b.book(s, TradeFill("A1", "RY.TO", Side.BUY, D(10), D(100), day("03-04"), "T2"))
        b.book(s, TradeFill("A1", "XYZ", Side.SELL, D(40), D(22), day("03-05"), "T3"))
        apply_corporate_action(
            s, ActionSpec("XYZ-2FOR1", "XYZ", "split", day("03-09"), ratio_new=D(2), ratio_old=D(1))
        )
        a1 = s.scalars(select(Account.id).where(Account.code == "A1")).one()
        s.add(TaxLot(account_id=a1, security_id=ids["ABC"], lot_ref="IMP-1", quantity=D(10), unit_cost=D(45), acquired=day("03-10"), fx_rate=D(1)))  # fmt: skip
        apply_corporate_action(
            s, ActionSpec("XYZ-DIV", "XYZ", "dividend", day("03-11"), pay_date=day("03-20"), amount=D("0.50"))
        )
        book_cash_flow(s, account="A1", currency="USD", amount=D(-500), on=day("03-12"), source_ref="WD")
        b.book(s, TradeFill("A1", "XYZ", Side.SELL, D(50), D(12), day("03-13"), "T4"))
    yield database


def test_daily_holdings_cash_and_value_match_the_hand_worked_book(book: Database) -> None:
    with book.session() as s:
        (aid,) = account_ids(s, ["A1"])
        fx = FxTable.load(s, start=day("03-02"), end=day("03-16"))
        h = account_history(s, aid, day("03-02"), day("03-16"), fx)
    assert [d.strftime("%m-%d") for d in h.frame.index] == DAYS
    q = h.quantities
    # Split unwound before its ex-date; the 40 sold on 03-05 are in the history before the sale.
    assert q["XYZ"].tolist() == Q_XYZ
    assert q["RY.TO"].tolist() == Q_RY and q["ABC"].tolist() == Q_ABC
    assert h.cash["USD"].tolist() == USD_CASH and h.cash["CAD"].tolist() == CAD_CASH
    assert h.frame["value"].to_numpy() == pytest.approx(VALUE, abs=1e-9)
    assert h.frame["flow"].tolist() == FLOW
    # Market value in each local currency (securities + cash) on the last day.
    assert h.local.iloc[-1].to_dict() == {"CAD": 1670.0, "USD": 8040 + 875 + 540}
    # Constant FX: the value at the previous day's rate is the value; no currency return.
    assert h.frame["value_prev_fx"].to_numpy() == pytest.approx(VALUE, abs=1e-9)


def test_performance_links_the_hand_worked_sub_period_returns(book: Database) -> None:
    expected = math.prod((VALUE[i] - FLOW[i]) / VALUE[i - 1] for i in range(1, len(VALUE))) - 1
    with book.session() as s:
        doc = performance_report(s, account_ids(s, ["A1"]), day("03-02"), day("03-16"), benchmark="XYZ")
    (row,) = doc["rows"]
    assert row["twr"] == pytest.approx(expected, abs=1e-6)
    assert row["start_value"] == 10000.0 and row["end_value"] == pytest.approx(10655.31, abs=0.005)
    assert row["net_flows"] == 0.0  # +500 in kind, -500 withdrawn
    assert row["currency_return"] == pytest.approx(0.0, abs=1e-9)
    assert expected == pytest.approx(time_weighted_return(_series(VALUE), _series(FLOW)), abs=1e-12)
    # XYZ as the benchmark: the raw close halves on the split; the benchmark is split-adjusted
    # (19 -> 12.5 x 2 = 25), a price return without the dividend.
    assert row["benchmark_return"] == pytest.approx(25 / 19 - 1, abs=1e-6)


def _series(xs: list[float]) -> pd.Series:
    return pd.Series(xs, index=pd.to_datetime([f"2026-{d}" for d in DAYS]))


def test_a_held_security_without_a_price_is_an_error_naming_it(book: Database) -> None:
    with book.transaction() as s:
        abc = s.scalars(select(Security.id).where(Security.symbol == "ABC")).one()
        s.query(PriceBar).filter(PriceBar.security_id == abc).delete()
    with book.session() as s:
        (aid,) = account_ids(s, ["A1"])
        fx = FxTable.load(s, start=day("03-02"), end=day("03-16"))
        with pytest.raises(MissingValueError, match=r"ABC is held on 2026-03-10"):
            account_history(s, aid, day("03-02"), day("03-16"), fx)
        # Before it arrived, the history needs no ABC price.
        h = account_history(s, aid, day("03-02"), day("03-09"), fx)
    assert np.allclose(h.frame["value"], VALUE[:6])


def test_holdings_on_the_last_day_agree_with_the_history(book: Database) -> None:
    # The valuation path (driver-cursor read of lots and cash) on both backends, same hand numbers.
    with book.session() as s:
        doc = holdings_report(s, account_ids(s, ["A1"]), day("03-16"), by="lot")
    got = {(r["symbol"], r["acquired"]): (r["quantity"], r["market_value_base"]) for r in doc["rows"]}
    assert got == {
        ("XYZ", "2026-03-03"): (70.0, 875.0),
        ("RY.TO", "2026-03-04"): (10.0, pytest.approx(1070 * CAD, abs=0.005)),
        ("ABC", "2026-03-10"): (10.0, 540.0),
    }
    assert {c["currency"]: c["settled"] + c["unsettled"] for c in doc["cash"]} == {
        "USD": 8040.0,
        "CAD": 600.0,
    }
    assert doc["totals"][0]["total_base"] == pytest.approx(VALUE[-1], abs=0.01)
