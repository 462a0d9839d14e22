"""ORM tables of the market marks the OMS takes for transaction cost analysis (engine.tca).

- oms_order_marks: per order sent to a broker, the market when it was released to the broker
  (the arrival price), the interval from its first to its last fill, and the market at its end
  (for the opportunity cost of an unfilled remainder). Migration 0405_oms_tca.
- market_prints: the market's prints (time, price, size) over those intervals, with their
  source: "simulated" for the SIMULATED broker's tape (connectors.broker_sim.tape), never our fills.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Base, Price, Quantity, UTCDateTime


class OrderMarks(Base):
    """The market around one order: at its release to the broker, over its fills, at its end."""

    __tablename__ = "oms_order_marks"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    source: Mapped[str] = mapped_column(String(16), doc="the market data port's name: simulated")
    arrival_at: Mapped[datetime] = mapped_column(UTCDateTime(), doc="when the order went to its broker")
    arrival_px: Mapped[Decimal | None] = mapped_column(Price(), doc="the last print then; None: no market")
    interval_from: Mapped[datetime | None] = mapped_column(UTCDateTime(), doc="first fill (TransactTime)")
    interval_to: Mapped[datetime | None] = mapped_column(UTCDateTime(), doc="last fill (TransactTime)")
    prints: Mapped[int | None] = mapped_column(Integer, doc="market prints stored for the interval")
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), doc="the order's last report")
    end_px: Mapped[Decimal | None] = mapped_column(Price(), doc="the last print at end_at")
    captured_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), index=True, doc="interval and end taken (None: the OMS still has to)"
    )


class MarketPrintRow(Base):
    """One print of the market for a security; `source` says whose (simulated for the demo)."""

    __tablename__ = "market_prints"
    __table_args__ = (
        UniqueConstraint("source", "security_id", "at"),
        Index("ix_market_prints_security_at", "security_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    security_id: Mapped[int] = mapped_column(ForeignKey("securities.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    price: Mapped[Decimal] = mapped_column(Price())
    quantity: Mapped[Decimal] = mapped_column(Quantity())
