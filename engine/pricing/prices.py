"""Closing prices as of a date: the last close on or before it, per security."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.store.market import PriceBar
from engine.store.reference import Security


def last_close_rows(session: Session, as_of: date, security_ids: Collection[int] | None = None) -> list[Any]:
    """(security_id, date, close) of each priced security's last bar on or before `as_of`;
    `security_ids` limits it to those securities (a single order's check needs a handful, not the
    whole price history scanned)."""

    # Two index seeks per security on the (security_id, date) key, not a scan of every bar (the
    # last bar's date and close; the date is part of the key, so both come from the same bar).
    def last(column: Any) -> Any:
        return (
            select(column)
            .where(PriceBar.security_id == Security.id, PriceBar.date <= as_of)
            .order_by(PriceBar.date.desc())
            .limit(1)
            .correlate(Security)
            .scalar_subquery()
        )

    q = select(Security.id, last(PriceBar.date), last(PriceBar.close))
    if security_ids is not None:
        q = q.where(Security.id.in_(sorted(security_ids)))
    return [r for r in session.execute(q).all() if r[1] is not None]


def last_prices(session: Session, as_of: date, security_ids: Collection[int] | None = None) -> pd.DataFrame:
    """One row per priced security: security_id (index), date and close (float) of its last bar
    (`last_close_rows` as a frame)."""
    df = pd.DataFrame(last_close_rows(session, as_of, security_ids), columns=["security_id", "date", "close"])
    df["close"] = df["close"].astype(float)
    return df.set_index("security_id")


def latest_price_date(session: Session) -> date | None:
    return session.execute(select(func.max(PriceBar.date))).scalar_one_or_none()
