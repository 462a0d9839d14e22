"""Property tests (hypothesis): any sequence of buys, sells, splits and dividends keeps the books whole.

Invariants checked after every step, against quantities tracked independently by the test:
- lot quantities sum to the position (buys - sells, times split factors);
- cash plus the market value of the position at a fixed mark moves only by the trade's
  distance from the mark, its commission and fees, and income (dividends);
- nothing is created or lost: realized proceeds equal net sale proceeds, and realized cost plus
  the cost still in open lots equals everything paid for the shares plus wash-sale basis moved
  onto replacement lots (these US taxable accounts buy and sell within 30 days often).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from engine.accounting.booking import LedgerBooker
from engine.accounting.corporate import ActionSpec, apply_corporate_action
from engine.accounting.tables import RealizedGain
from engine.model.currency import round_money
from engine.model.enums import Side
from engine.model.trades import TradeFill
from engine.store.accounts import Household
from engine.store.database import Database
from engine.store.positions import CashBalance, TaxLot
from tests.engine.accounting.book import account_row, security_row

D = Decimal
CENT = D("0.01")
_ids = itertools.count(1)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    from tests.conftest import migrated

    database = migrated(f"sqlite:///{tmp_path_factory.mktemp('inv') / 'book.db'}")
    yield database
    database.dispose()


money = st.decimals(min_value=D("1.00"), max_value=D("250.00"), places=2)
op = st.one_of(
    st.tuples(st.just("buy"), st.integers(1, 400), money, st.decimals(0, 10, places=2)),
    st.tuples(st.just("sell"), st.floats(0.05, 1.0), money, st.decimals(0, 10, places=2)),
    st.tuples(
        st.just("split"), st.sampled_from([(2, 1), (3, 1), (1, 2), (3, 2), (1, 4)]), st.none(), st.none()
    ),
    st.tuples(st.just("dividend"), st.decimals(D("0.01"), D("2.00"), places=2), st.none(), st.none()),
)


def _state(db: Database, account_id: int, security_id: int) -> tuple[D, D, D, D, D, D]:
    """(position, open cost, cash, realized proceeds, realized cost, wash basis moved) from the store."""
    with db.session() as s:
        lots = s.execute(
            select(TaxLot.quantity, TaxLot.unit_cost).where(
                TaxLot.account_id == account_id, TaxLot.security_id == security_id
            )
        ).all()
        bal = s.get(CashBalance, (account_id, "USD"))
        rp, rc, wash = s.execute(
            select(
                func.coalesce(func.sum(RealizedGain.proceeds_local), 0),
                func.coalesce(func.sum(RealizedGain.cost_local), 0),
                func.coalesce(func.sum(RealizedGain.wash_disallowed_base), 0),
            ).where(RealizedGain.account_id == account_id)
        ).one()
    pos = sum((D(q) for q, _ in lots), D(0))
    cost = sum((D(q) * D(c) for q, c in lots), D(0))
    cash = D(bal.settled) + D(bal.unsettled) if bal else D(0)
    return pos, cost, cash, D(rp), D(rc), D(wash)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, min_size=1, max_size=12), method=st.sampled_from(["fifo", "lifo", "hifo", "min_tax"]))
def test_books_stay_whole(db: Database, ops: list[tuple], method: str) -> None:  # type: ignore[type-arg]
    n = next(_ids)
    with db.transaction() as s:
        hh = Household(code=f"H{n}", name="p")
        s.add(hh)
        s.flush()
        acct = account_row(f"P{n}", hh.id, lot_relief=method)
        sec = security_row(f"S{n}", "USD", "XNYS", "US")
        s.add_all([acct, sec])
        s.flush()
        aid, sid = acct.id, sec.id
    booker = LedgerBooker()
    day = date(2025, 1, 2)
    position = D(0)
    paid = D(0)  # everything paid for shares (gross + costs)
    net_sales = D(0)
    mark = D("100")
    tol = D(0)  # accumulated unit-cost rounding (6 decimals per unit) from splits and cost/qty
    for i, (kind, a, px, cost) in enumerate(ops):
        day += timedelta(days=3)
        pos0, _, cash0, _, _, _ = _state(db, aid, sid)
        with db.transaction() as s:
            if kind == "buy":
                qty = D(a)
                booker.book(
                    s, TradeFill(f"P{n}", f"S{n}", Side.BUY, qty, px, day, f"P{n}-{i}", commission=cost)
                )
                position += qty
                paid += round_money(qty * px + cost, "USD")
                expected_move = qty * (mark - px) - cost
                tol += qty * D("1e-6")
            elif kind == "sell":
                qty = (position * D(str(a))).quantize(D(1), rounding=ROUND_DOWN)
                if qty <= 0:
                    continue
                booker.book(
                    s, TradeFill(f"P{n}", f"S{n}", Side.SELL, qty, px, day, f"P{n}-{i}", commission=cost)
                )
                position -= qty
                net_sales += round_money(qty * px - cost, "USD")
                expected_move = qty * (px - mark) - cost
            elif kind == "split":
                new, old = a
                apply_corporate_action(
                    s, ActionSpec(f"P{n}-{i}", f"S{n}", "split", day, ratio_new=D(new), ratio_old=D(old))
                )
                factor = D(new) / D(old)
                position = (position * factor).quantize(D("1e-6"))
                tol += position * D("1e-6") + D("1e-6")
            else:
                apply_corporate_action(s, ActionSpec(f"P{n}-{i}", f"S{n}", "dividend", day, amount=a))
                expected_move = round_money(position * a, "USD")  # domestic: nothing withheld
        if kind == "split":  # read once the split's transaction has committed
            # Value at the split-adjusted mark is unchanged.
            pos1, _, cash1, _, _, _ = _state(db, aid, sid)
            assert abs((cash1 + pos1 * mark / factor) - (cash0 + pos0 * mark)) <= tol * mark + CENT
            mark = mark / factor
            continue
        pos1, open_cost, cash1, r_proceeds, r_cost, wash = _state(db, aid, sid)
        # Lots sum to the position tracked by the test.
        assert pos1 == position
        # Cash + market value at the mark moves only by the trade's price difference, costs, income.
        move = (cash1 + pos1 * mark) - (cash0 + pos0 * mark)
        assert abs(move - expected_move) <= CENT
        # Nothing created or lost.
        assert r_proceeds == net_sales
        # A wash sale moves a disallowed loss onto the replacement lot's basis (same account here).
        assert abs(r_cost + open_cost - wash - paid) <= 2 * tol + CENT * (i + 1), (
            r_cost,
            open_cost,
            wash,
            paid,
        )


lot_st = st.builds(
    lambda i, q, c, d, fx: (f"L{i}", D(q), c, date(2024, 1, 1) + timedelta(days=d), fx),
    st.integers(0, 10**6),
    st.integers(1, 1000),
    money,
    st.integers(0, 900),
    st.sampled_from([D("1"), D("1.1"), D("0.9")]),
)


@settings(max_examples=200, deadline=None)
@given(
    raw=st.lists(lot_st, min_size=1, max_size=8, unique_by=lambda x: x[0]),
    share=st.floats(0.01, 1.0),
    method=st.sampled_from(["fifo", "lifo", "hifo", "min_tax"]),
    price=money,
)
def test_relief_takes_exactly_the_quantity(raw: list, share: float, method: str, price: D) -> None:  # type: ignore[type-arg]
    from engine.accounting.relief import OpenLot, choose_lots
    from engine.model.enums import LotRelief

    lots = [OpenLot(*r) for r in raw]
    held = sum(lot.quantity for lot in lots)
    qty = max(D(1), (held * D(str(share))).quantize(D(1)))
    taken = choose_lots(
        lots, qty, LotRelief(method), price=price, sold=date(2026, 6, 1), long_after_months=12
    )
    assert sum(q for _, q in taken) == qty
    assert all(0 < q <= lot.quantity for lot, q in taken)
    assert len({lot.ref for lot, _ in taken}) == len(taken)
    # Only the last lot touched may be partly relieved.
    assert all(q == lot.quantity for lot, q in taken[:-1])
