"""ORM tables owned by engine.oms (migrations on the 'oms' Alembic branch).

- oms_cl_ord_ids: every ClOrdID the OMS ever sent (the order's, a cancel's, a replace's), so any
  broker message is found by its ClOrdID or OrigClOrdID, and a replace's new terms are kept
  until the broker confirms them.
- oms_allocations: a block's fills given back to its child orders (one row per child), each
  booked once into the account's lots and cash (source_ref is the booking's idempotency key).
- oms_fix_inbound: per FIX session, the MsgSeqNum of the last broker message the OMS applied
  (engine.oms.progress), so a restart asks the broker again for anything after it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Base, Price, Quantity, UTCDateTime, utcnow


class ClientOrderId(Base):
    """One ClOrdID sent to a broker and what it asked for."""

    __tablename__ = "oms_cl_ord_ids"

    cl_ord_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(16), doc="new, cancel or replace")
    orig_cl_ord_id: Mapped[str | None] = mapped_column(String(64))
    quantity: Mapped[Decimal | None] = mapped_column(Quantity(), doc="replace: the new OrderQty")
    limit_price: Mapped[Decimal | None] = mapped_column(Price(), doc="replace: the new limit")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Allocation(Base):
    """The part of a block's fills given to one child order, at the block's average price."""

    __tablename__ = "oms_allocations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    block_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    avg_px: Mapped[Decimal] = mapped_column(Price())
    trade_date: Mapped[date] = mapped_column(Date)
    settle_date: Mapped[date | None] = mapped_column(Date)
    source_ref: Mapped[str] = mapped_column(String(96), unique=True)
    booked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class InboundProgress(Base):
    """The last broker message applied from one FIX session (its MsgSeqNum)."""

    __tablename__ = "oms_fix_inbound"

    session_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
