"""Another desk changes a few accounts (issue 18): the PM desk recomputes those accounts only.

Three accounts' cash and lots are changed through another connection; the holdings grid's
accounts model re-reads exactly those three rows (no reset, dataChanged on their rows only), the
heatmap replaces those three columns, every other account's positions stay the very rows they
were, and the new numbers equal an independent Decimal valuation of the raw tables
(tests/ui/test_pm_panels.py's reference) and a whole fresh load. A fill booked elsewhere reaches
the same path through the shared change feed (the fill names its order; the order its account).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from engine.oms.tables import Execution, Order
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.positions import CashBalance, TaxLot
from engine.views import book as book_frames
from tests.ui.conftest import copy_book
from tests.ui.helpers import close_window, open_window
from tests.ui.test_pm_panels import reference_account, reference_drift
from ui.desk import load_book


class Signals:
    def __init__(self, model: Any) -> None:
        self.resets = 0
        self.inserted = 0
        self.changed: set[int] = set()
        self.upserted: list[list[int]] = []
        model.modelReset.connect(self._reset)
        model.rowsInserted.connect(self._inserted)
        model.dataChanged.connect(lambda a, b, *_: self.changed.update(range(a.row(), b.row() + 1)))
        upsert = model.upsert

        def counted(rows: pd.DataFrame) -> None:
            self.upserted.append(sorted(int(i) for i in rows["account_id"]))
            upsert(rows)

        model.upsert = counted

    def _reset(self) -> None:
        self.resets += 1

    def _inserted(self, _p: Any, a: int, b: int) -> None:
        self.inserted += b - a + 1


@pytest.fixture(scope="module")
def book(demo_db, tmp_path_factory):  # type: ignore[no-untyped-def]
    database = copy_book(demo_db, tmp_path_factory.mktemp("refresh-book") / "book.db")
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def pat(qtbot_module, book, tmp_path_factory):  # type: ignore[no-untyped-def]
    window = open_window(qtbot_module, book, "pat.pm", tmp_path_factory.mktemp("ini") / "p.ini")
    for name in ("holdings", "drift"):
        window.docks[name].show()
    qtbot_module.waitUntil(
        lambda: window.desk.book is not None and window.desk.book.cached_at is None
        and not window.desk.jobs.running,
        timeout=60_000,
    )  # fmt: skip
    yield window
    close_window(window)


def _change_elsewhere(book: Database, codes: list[str]) -> list[int]:
    """Another desk: +25,000 base-currency cash in each account, one lot halved in the first,
    one lot removed from the second."""
    other = Database(book.url)
    try:
        with other.transaction() as s:
            accts = [s.scalars(select(Account).where(Account.code == c)).one() for c in codes]
            for a in accts:
                bal = s.get(CashBalance, (a.id, a.base_currency))
                if bal is None:
                    s.add(CashBalance(account_id=a.id, currency=a.base_currency, settled=Decimal(25_000)))
                else:
                    bal.settled += Decimal(25_000)
            lots = [
                s.scalars(select(TaxLot).where(TaxLot.account_id == a.id).order_by(TaxLot.id)).first()
                for a in accts[:2]
            ]
            assert lots[0] is not None and lots[1] is not None
            lots[0].quantity = lots[0].quantity / 2
            s.delete(lots[1])
            return [a.id for a in accts]
    finally:
        other.dispose()


def test_a_change_to_three_accounts_updates_exactly_those_rows(qtbot_module, pat, book) -> None:  # type: ignore[no-untyped-def]
    desk = pat.desk
    grid = pat.docks["holdings"].grid
    model = grid.models["accounts"]
    heat = pat.docks["drift"].heatmap
    assert grid.level == "accounts" and model.rowCount() == 12
    codes = [model.value(r, "code") for r in (0, 5, 11)]  # rows apart: no span joins them
    before = desk.book
    seen = Signals(model)
    heat_rows = heat.rows_updated
    ids = _change_elsewhere(book, codes)
    desk.accounts_changed(account_ids=ids)
    qtbot_module.waitUntil(
        lambda: heat.rows_updated == heat_rows + 3 and not desk.jobs.running, timeout=30_000
    )
    model.flush()
    after = desk.book
    assert after is not before
    # the grid: those three rows re-read, by key, and only their rows repainted
    assert seen.upserted == [sorted(ids)]
    assert seen.resets == 0 and seen.inserted == 0
    assert seen.changed == {model.view_row_of_key(i) for i in ids}
    # the numbers: an independent Decimal valuation of the raw rows after the change
    as_of = after.snap.as_of
    for code in codes:
        ref = reference_account(book, code, as_of)
        row = model.view_row_of_key(ref["id"])
        assert model.value(row, "value_base") == pytest.approx(float(ref["total"]), rel=1e-9)
        assert model.value(row, "cash_base") == pytest.approx(float(ref["cash"]), rel=1e-9)
        col = list(heat.account_ids).index(ref["id"])
        want = reference_drift(ref, "sector")
        for j, bucket in enumerate(heat.buckets):
            assert heat.values[col, j] == pytest.approx(want.get(bucket, 0.0), abs=1e-9), (code, bucket)
    # every other account: the very same position rows as before (not recomputed)
    others = ~after.positions["account_id"].isin(ids)
    kept = after.positions[others].sort_values(["account_id", "security_id"], ignore_index=True)
    old = before.positions[~before.positions["account_id"].isin(ids)]
    old = old.sort_values(["account_id", "security_id"], ignore_index=True)
    pd.testing.assert_frame_equal(kept, old, check_categorical=False)
    # and the whole book read afresh agrees with the spliced one
    fresh = load_book(book)
    cols = [
        "account_id",
        "value_base",
        "cash_base",
        "positions",
        "max_drift",
        "unrealized_st",
        "unrealized_lt",
    ]
    pd.testing.assert_frame_equal(after.accounts[cols], fresh.accounts[cols], check_exact=False, rtol=1e-12)
    assert after.snap.account_value().to_dict() == pytest.approx(fresh.snap.account_value().to_dict())


def test_a_fill_from_another_desk_updates_its_accounts_through_the_feed(qtbot_module, pat, book) -> None:  # type: ignore[no-untyped-def]
    desk = pat.desk
    model = pat.docks["holdings"].grid.models["accounts"]
    qtbot_module.waitUntil(lambda: pat.shared.feed.online, timeout=30_000)
    code = model.value(6, "code")
    heat = pat.docks["drift"].heatmap
    heat_rows = heat.rows_updated
    other = Database(book.url)
    try:
        with other.transaction() as s:
            acct = s.scalars(select(Account).where(Account.code == code)).one()
            lot = s.scalars(select(TaxLot).where(TaxLot.account_id == acct.id).order_by(TaxLot.id)).first()
            assert lot is not None
            # a block order and its child for this account: the fill names the block
            block = Order(
                cl_ord_id="REFRESH-B",
                security_id=lot.security_id,
                side="buy",
                quantity=Decimal(10),
                order_type="market",
                time_in_force="day",
                currency="USD",
                status="filled",
            )
            s.add(block)
            s.flush()
            s.add(Order(cl_ord_id="REFRESH-C", account_id=acct.id, parent_id=block.id, security_id=lot.security_id,
                        side="buy", quantity=Decimal(10), order_type="market", time_in_force="day",
                        currency="USD", status="filled"))  # fmt: skip
            lot.quantity += Decimal(10)  # what booking the fill does to the account
            s.add(Execution(order_id=block.id, broker="SIM", exec_id="REFRESH-E1", exec_type="F", ord_status="2",
                            last_qty=Decimal(10), last_px=Decimal(1), cum_qty=Decimal(10)))  # fmt: skip
            account_id, block_id = acct.id, block.id
    finally:
        other.dispose()
    assert book_frames.accounts_of_orders(book, [block_id]) == [account_id]
    qtbot_module.waitUntil(
        lambda: heat.rows_updated == heat_rows + 1 and not desk.jobs.running, timeout=30_000
    )
    model.flush()
    ref = reference_account(book, code, desk.book.snap.as_of)
    row = model.view_row_of_key(account_id)
    assert model.value(row, "value_base") == pytest.approx(float(ref["total"]), rel=1e-9)
