"""ORM tables owned by engine.oms (migrations on the 'oms' Alembic branch).

- orders: an order to a broker (a child for one account, or a block); its status moves only
  through engine.oms.journal.ORDER_MACHINE, each move an appended order_events row;
- executions: what brokers reported (a fill's ExecID is unique per broker);

- oms_cl_ord_ids: every ClOrdID the OMS ever sent (the order's, a cancel's, a replace's), so any
  broker message is found by its ClOrdID or OrigClOrdID, and a replace's new terms are kept
  until the broker confirms them.
- oms_allocations: a block's fills given back to its child orders (one row per child), each
  booked once into the account's lots and cash (source_ref is the booking's idempotency key).
- oms_fix_inbound: per FIX session, the MsgSeqNum of the last broker message the OMS applied
  (engine.oms.progress), so a restart asks the broker again for anything after it.
- oms_alloc_instructions: each FIX AllocationInstruction (35=J) sent for a block, what it said
  and what the broker answered (AllocationInstructionAck 35=P, AllocationReport 35=AS); its status
  moves only through engine.state.allocations.ALLOC_INSTRUCTIONS (migration 0404_oms_allocations).
- oms_rotations / oms_rotation_log: the broker rotation per security and side (who goes first
  next) and the fairness log of every rotation (engine.oms.rotation).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Base, Price, Quantity, UTCDateTime, utcnow


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


class AllocInstruction(Base):
    """One AllocationInstruction (35=J) of a block to its executing broker, and the broker's answer.

    `lines` is the NoAllocs group as sent ({account, alloc_account, quantity} per account) and
    `cl_ord_ids` the NoOrders group; a re-send after a rejection is a new row with trans_type
    `replace` and `ref_alloc_id` naming the rejected one (which becomes `replaced`)."""

    __tablename__ = "oms_alloc_instructions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alloc_id: Mapped[str] = mapped_column(String(64), unique=True)
    block_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    broker: Mapped[str] = mapped_column(String(64), index=True)
    trans_type: Mapped[str] = mapped_column(String(8), doc="new, replace or cancel (AllocTransType 71)")
    ref_alloc_id: Mapped[str | None] = mapped_column(String(64), doc="RefAllocID (72) of a replace")
    alloc_type: Mapped[str] = mapped_column(String(2), doc="AllocType (626): 2 preliminary")
    status: Mapped[str] = mapped_column(String(16), index=True)
    side: Mapped[str] = mapped_column(String(8))
    security_id: Mapped[int] = mapped_column(ForeignKey("securities.id"))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    avg_px: Mapped[Decimal] = mapped_column(Price())
    currency: Mapped[str] = mapped_column(String(3))
    trade_date: Mapped[date] = mapped_column(Date)
    settle_date: Mapped[date | None] = mapped_column(Date)
    cl_ord_ids: Mapped[list[list[str | None]]] = mapped_column(JSON, doc="[[ClOrdID, OrderID], ...]")
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    reject_code: Mapped[int | None] = mapped_column(Integer, doc="AllocRejCode (88)")
    reject_text: Mapped[str | None] = mapped_column(Text, doc="the broker's reason (Text 58, per account)")
    report_id: Mapped[str | None] = mapped_column(String(64), doc="AllocReportID (755) of the AS")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), doc="no answer: alerted once")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class Rotation(Base):
    """Which broker released first last time for a security and side (the next run starts after it)."""

    __tablename__ = "oms_rotations"

    security_id: Mapped[int] = mapped_column(ForeignKey("securities.id"), primary_key=True)
    side: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_first: Mapped[str] = mapped_column(String(64), doc="the broker that went first last time")
    runs: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class RotationEntry(Base):
    """The fairness log: in one rotation (run), the broker at `position` and the accounts it traded."""

    __tablename__ = "oms_rotation_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(40), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    security_id: Mapped[int] = mapped_column(ForeignKey("securities.id"), index=True)
    side: Mapped[str] = mapped_column(String(8))
    position: Mapped[int] = mapped_column(Integer, doc="1 = released first")
    broker: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    accounts: Mapped[list[str]] = mapped_column(JSON)
    quantity: Mapped[Decimal] = mapped_column(Quantity())
