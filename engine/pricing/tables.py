"""ORM tables owned by engine.pricing (migrations on the 'pricing' Alembic branch).

The staleness policy is data: one row per asset class (and one for FX), so that a firm changes
how old a price may be without a release, and every desk on a shared database applies the same.
"""

from __future__ import annotations

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Base


class StalePolicy(Base):
    """How old a price of an asset class (or, for asset_class 'fx', an FX fixing) may be.

    rule 'sessions': the close may lag the market's last session by at most `allowed` sessions of
    the security's exchange calendar (0: it must be the last session's close). rule 'days': at most
    `allowed` calendar days before the date read (FX).
    """

    __tablename__ = "stale_policies"

    asset_class: Mapped[str] = mapped_column(
        String(20), primary_key=True, doc="equity, etf, adr, fixed_income, fx"
    )
    rule: Mapped[str] = mapped_column(String(16), doc="sessions or days")
    allowed: Mapped[int] = mapped_column(Integer, doc="sessions (or days) a price may lag")
    note: Mapped[str] = mapped_column(Text, default="")
