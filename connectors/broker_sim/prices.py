"""Reference prices for simulated fills: the demo book's last close per symbol, if a book is given."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from engine.store.database import Database
from engine.store.market import PriceBar
from engine.store.reference import Security


def last_prices(url: str) -> dict[str, Decimal]:
    """Symbol -> last close in the book at `url` (empty if it holds no prices)."""
    db = Database(url)
    try:
        with db.session() as s:
            last = (
                select(PriceBar.security_id, func.max(PriceBar.date).label("d"))
                .group_by(PriceBar.security_id)
                .subquery()
            )
            rows = s.execute(
                select(Security.symbol, PriceBar.close)
                .join(PriceBar, PriceBar.security_id == Security.id)
                .join(last, (last.c.security_id == PriceBar.security_id) & (last.c.d == PriceBar.date))
            ).all()
        return {sym: Decimal(str(px)) for sym, px in rows}
    finally:
        db.dispose()
