"""Market data: daily closing prices per security and daily FX rates per currency pair."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import BigInteger, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Base, Price, Rate


class PriceBar(Base):
    """Close (in the security's currency) and volume on one session. `source` says where it came from."""

    __tablename__ = "prices"

    security_id: Mapped[int] = mapped_column(ForeignKey("securities.id"), primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    close: Mapped[Decimal] = mapped_column(Price())
    volume: Mapped[int | None] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(32))


class FxRate(Base):
    """Units of `quote` per one unit of `base` on a date (EUR/USD 1.08 = base EUR, quote USD)."""

    __tablename__ = "fx_rates"

    base: Mapped[str] = mapped_column(String(3), primary_key=True)
    quote: Mapped[str] = mapped_column(String(3), primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    rate: Mapped[Decimal] = mapped_column(Rate())
    source: Mapped[str] = mapped_column(String(32))
