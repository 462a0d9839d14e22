"""Reference prices for simulated fills: the demo book's last close per symbol, and FX spot quotes
(EURUSD = USD per EUR) for every pair of the book's FX table on its last fixing, if a book is given."""

from __future__ import annotations

from decimal import Decimal
from itertools import permutations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.pricing.fx import FxTable
from engine.store.database import Database
from engine.store.market import PriceBar
from engine.store.reference import Security


def fx_quotes(session: Session) -> dict[str, Decimal]:
    """Pair symbol (dealt + counter) -> counter units per dealt unit, on the table's last date."""
    table = FxTable.load(session)
    last = getattr(table, "last_date", None)
    if last is None:
        return {}
    out = {}
    for a, b in permutations(sorted(table.currencies), 2):
        try:
            out[f"{a}{b}"] = table.rate(a, b, last)
        except NotFound:
            continue
    return out


def last_prices(url: str) -> dict[str, Decimal]:
    """Symbol -> last close in the book at `url`, plus FX spot quotes (empty if it holds neither)."""
    db = Database(url)
    try:
        return book_prices(db)
    finally:
        db.dispose()


def book_prices(db: Database) -> dict[str, Decimal]:
    """Symbol -> last close in an open book, plus FX spot quotes (empty if it holds neither)."""
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
        fx = fx_quotes(s)
    return {**fx, **{sym: Decimal(str(px)) for sym, px in rows}}
