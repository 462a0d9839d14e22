"""Proposals, orders, their appended state events, and executions (filled by later services)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Base, Price, Quantity, UTCDateTime, utcnow


class Proposal(Base):
    """A rebalance proposal for one account, as produced by a bulk run."""

    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[str] = mapped_column(String(40), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    mode: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(24), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __mapper_args__ = {"version_id_col": version}


class Order(Base):
    """An order to a broker: a child order for one account, or a block (account_id empty)."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cl_ord_id: Mapped[str] = mapped_column(String(64), unique=True)
    orig_cl_ord_id: Mapped[str | None] = mapped_column(String(64))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposals.id"))
    security_id: Mapped[int] = mapped_column(ForeignKey("securities.id"))
    side: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    order_type: Mapped[str] = mapped_column(String(16))
    limit_price: Mapped[Decimal | None] = mapped_column(Price())
    time_in_force: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    broker: Mapped[str | None] = mapped_column(String(64))
    broker_order_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24), index=True)
    cum_qty: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    leaves_qty: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    avg_px: Mapped[Decimal] = mapped_column(Price(), default=Decimal(0))
    lot_instructions: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    trade_date: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Added by the oms migration branch (0401_oms_orders):
    prev_status: Mapped[str | None] = mapped_column(String(24), doc="before a pending cancel/replace")
    release_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), doc="held: when it is released")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), doc="first handed to the FIX session")
    # Added by 0403_oms_order_terms: stop and stop_limit orders' trigger, gtd orders' expiry, strategy.
    stop_price: Mapped[Decimal | None] = mapped_column(Price(), doc="StopPx (99) of a stop or stop_limit")
    expire_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), doc="ExpireTime (126) of a gtd order")
    strategy: Mapped[str | None] = mapped_column(
        String(32), doc="the broker's algorithm (TargetStrategy 847)"
    )
    strategy_params: Mapped[dict[str, str] | None] = mapped_column(JSON, doc="TargetStrategyParameters (848)")

    __mapper_args__ = {"version_id_col": version}


class OrderEvent(Base):
    """An appended order state change: never updated, never deleted."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    status_from: Mapped[str | None] = mapped_column(String(24))
    status_to: Mapped[str] = mapped_column(String(24))
    username: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Execution(Base):
    """A fill or other execution report from a broker. ExecID identifies a fill per broker."""

    __tablename__ = "executions"
    __table_args__ = (UniqueConstraint("broker", "exec_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    broker: Mapped[str] = mapped_column(String(64))
    exec_id: Mapped[str] = mapped_column(String(64))
    exec_type: Mapped[str] = mapped_column(String(2))
    ord_status: Mapped[str] = mapped_column(String(2))
    last_qty: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    last_px: Mapped[Decimal] = mapped_column(Price(), default=Decimal(0))
    cum_qty: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    leaves_qty: Mapped[Decimal] = mapped_column(Quantity(), default=Decimal(0))
    avg_px: Mapped[Decimal] = mapped_column(Price(), default=Decimal(0))
    transact_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    text: Mapped[str | None] = mapped_column(Text)


# The shared desk's tables (change feed, routing leases) join the one MetaData with these.
import engine.shared.tables  # noqa: E402, F401
