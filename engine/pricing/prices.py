"""Closing prices as of a date: the last close on or before it, per security."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.store.market import PriceBar


def last_prices(session: Session, as_of: date) -> pd.DataFrame:
    """One row per priced security: security_id (index), date and close (float) of its last bar."""
    latest = (
        select(PriceBar.security_id, func.max(PriceBar.date).label("d"))
        .where(PriceBar.date <= as_of)
        .group_by(PriceBar.security_id)
        .subquery()
    )
    q = select(PriceBar.security_id, PriceBar.date, PriceBar.close).join(
        latest, (PriceBar.security_id == latest.c.security_id) & (PriceBar.date == latest.c.d)
    )
    df = pd.DataFrame(session.execute(q).all(), columns=["security_id", "date", "close"])
    df["close"] = df["close"].astype(float)
    return df.set_index("security_id")


def latest_price_date(session: Session) -> date | None:
    return session.execute(select(func.max(PriceBar.date))).scalar_one_or_none()
