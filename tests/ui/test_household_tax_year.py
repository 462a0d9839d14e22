"""The Household dock's Tax year tab: each account's realized gains by term this year, its estimated
tax and budget left, and household sums in the household's currency that equal the lines shown."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine.accounting.tables import Booking, RealizedGain
from engine.rebalance.households import set_group
from engine.rebalance.tax_year import set_account_budget
from engine.rebalance.taxes import rates_for
from engine.store.accounts import Account, Household
from engine.store.database import Database
from engine.store.reference import Security
from engine.views.snapshot import load_snapshot
from engine.views.users import desk_users
from tests.ui.conftest import copy_book
from ui.desk import Desk
from ui.panels.household_panel import HouseholdPanel
from ui.workers import Jobs

PM = "pat.pm"


@pytest.fixture
def book(demo_db: Database, tmp_path: Path) -> Iterator[Database]:
    database = copy_book(demo_db, tmp_path / "book.db")
    yield database
    database.dispose()


def _gain(s: Any, account: Account, security_id: int, sold: date, term: str, gain: str, n: int) -> None:
    """A realized gain row as a sale booked through the ledger leaves it (amounts in base currency)."""
    b = Booking(
        source_ref=f"test-sale-{account.code}-{n}",
        kind="trade",
        account_id=account.id,
        security_id=security_id,
        side="sell",
        quantity=Decimal(10),
        price=Decimal(1),
        currency=account.base_currency,
        trade_date=sold,
    )
    s.add(b)
    s.flush()
    g = Decimal(gain)
    s.add(
        RealizedGain(
            booking_id=b.id,
            account_id=account.id,
            security_id=security_id,
            lot_ref=f"L{n}",
            quantity=Decimal(10),
            acquired=date(sold.year - (2 if term == "long" else 0), 1, 2),
            sold=sold,
            currency=account.base_currency,
            base_currency=account.base_currency,
            proceeds_local=Decimal(100000) + g,
            cost_local=Decimal(100000),
            proceeds_base=Decimal(100000) + g,
            cost_base=Decimal(100000),
            gain_base=g,
            price_gain_base=g,
            fx_gain_base=Decimal(0),
            term=term,
        )
    )


def test_the_tax_year_tab_shows_realized_gains_tax_and_budget_left(qtbot, book: Database) -> None:  # type: ignore[no-untyped-def]
    snap = load_snapshot(book)
    with book.session() as s:
        hh = next(
            h
            for h in s.scalars(select(Household).order_by(Household.code))
            if len(
                s.scalars(
                    select(Account.id).where(Account.household_id == h.id, Account.tax_status == "taxable")
                ).all()
            )
            > 1
        )
        code = hh.code
        accounts = list(
            s.scalars(
                select(Account)
                .where(Account.household_id == hh.id, Account.tax_status == "taxable")
                .order_by(Account.code)
            )
        )
    first, second = accounts[0], accounts[1]
    with book.session() as s:
        sid = int(s.scalars(select(Security.id).order_by(Security.id)).first() or 0)
    year = snap.as_of.year
    with book.transaction() as s:
        a, b = s.get(Account, first.id), s.get(Account, second.id)
        _gain(s, a, sid, date(year, 3, 2), "short", "12000.00", 1)
        _gain(s, a, sid, date(year, 4, 2), "long", "-2500.50", 2)
        _gain(s, b, sid, date(year, 5, 2), "long", "4000.00", 3)
        _gain(s, b, sid, date(year - 1, 12, 30), "short", "99999.00", 4)  # last year: not counted
        set_group(s, PM, code, "blend", currency="USD", carry_forward=Decimal(1500))
        set_account_budget(s, PM, first.code, Decimal(3000))
    desk = Desk(book, next(u for u in desk_users(book) if u.username == PM), jobs=Jobs())
    panel = HouseholdPanel(desk)
    qtbot.addWidget(panel)
    panel.resize(1280, 720)
    panel.show()
    qtbot.waitUntil(lambda: panel.shown is not None and not desk.jobs.running, timeout=120_000)
    panel.show_household(code)
    qtbot.waitUntil(lambda: not desk.jobs.running and panel.summary.get("household") == code, timeout=120_000)
    m = panel.taxes.model
    rows = {m.value(r, "account"): r for r in range(m.rowCount())}
    ra = rates_for(first.tax_jurisdiction, "taxable")
    rb = rates_for(second.tax_jurisdiction, "taxable")
    tax_a = 12000.0 * ra.short_term - 2500.50 * ra.long_term
    tax_b = 4000.0 * rb.long_term
    r = rows[first.code]
    assert m.value(r, "ytd_short") == pytest.approx(12000.0)
    assert m.value(r, "ytd_long") == pytest.approx(-2500.50)
    assert m.value(r, "ytd_tax") == pytest.approx(tax_a, abs=0.01)
    assert m.value(r, "tax_budget") == pytest.approx(3000.0)
    assert m.value(r, "budget_left") == pytest.approx(3000.0 - tax_a, abs=0.01)
    r = rows[second.code]
    assert (m.value(r, "ytd_short"), m.value(r, "ytd_long")) == (pytest.approx(0.0), pytest.approx(4000.0))
    assert m.value(r, "ytd_tax") == pytest.approx(tax_b, abs=0.01)
    usd_a = float(snap.fx.rate(first.base_currency, "USD", snap.as_of))
    usd_b = float(snap.fx.rate(second.base_currency, "USD", snap.as_of))
    assert panel.summary["ytd_gain"] == pytest.approx((12000.0 - 2500.50) * usd_a + 4000.0 * usd_b, abs=0.02)
    assert panel.summary["ytd_tax"] == pytest.approx(
        round(tax_a, 2) * usd_a + round(tax_b, 2) * usd_b, abs=0.02
    )
    assert panel.summary["carry_forward"] == pytest.approx(1500.0)
    text = panel.tax_caption.text()
    assert "carry-forward 1,500.00 USD" in text and "no household tax budget" in text
