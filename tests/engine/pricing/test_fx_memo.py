"""The remembered FX table of a check: reused for the same rates, rebuilt as soon as any rate read
is added, corrected or removed, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import delete, update

from engine.errors import NotFound
from engine.pricing import fx_memo
from engine.pricing.fx import FxTable
from engine.store.database import Database
from engine.store.market import FxRate

DAY = date(2026, 3, 10)


def _rate(db: Database, base: str, quote: str) -> float:
    """The memo's rate next to FxTable.load's (the unremembered path) in the same session."""
    with db.session() as s:
        got = float(fx_memo.fx_table(s, DAY, DAY).rate(base, quote, DAY))
        want = float(FxTable.load(s, start=DAY, end=DAY).rate(base, quote, DAY))
    assert got == pytest.approx(want, rel=1e-12)
    return got


def test_same_rates_reuse_the_table_and_any_change_rebuilds_it(database: Database) -> None:
    fx_memo.forget()
    with database.transaction() as s:
        s.add(FxRate(base="EUR", quote="USD", date=DAY, rate=Decimal("1.10"), source="t"))
        s.add(FxRate(base="EUR", quote="GBP", date=DAY, rate=Decimal("0.80"), source="t"))
    before = dict(fx_memo.stats)
    assert _rate(database, "GBP", "USD") == pytest.approx(1.10 / 0.80)
    assert _rate(database, "GBP", "USD") == pytest.approx(1.10 / 0.80)
    assert fx_memo.stats["built"] - before["built"] == 1
    assert fx_memo.stats["reused"] - before["reused"] == 1

    with database.transaction() as s:  # a correction in place: same keys, another rate
        s.execute(update(FxRate).where(FxRate.quote == "USD").values(rate=Decimal("1.20")))
    assert _rate(database, "GBP", "USD") == pytest.approx(1.20 / 0.80)

    with database.transaction() as s:  # a new currency
        s.add(FxRate(base="EUR", quote="CHF", date=DAY, rate=Decimal("0.95"), source="t"))
    assert _rate(database, "CHF", "USD") == pytest.approx(1.20 / 0.95)

    with database.transaction() as s:  # removed: no rate for it any more, never a stale one
        s.execute(delete(FxRate).where(FxRate.quote == "CHF"))
    with database.session() as s, pytest.raises(NotFound):
        fx_memo.fx_table(s, DAY, DAY).rate("CHF", "USD", DAY)
    # the rows after the removal are those of the correction: that table is used again
    assert fx_memo.stats["built"] - before["built"] == 3
