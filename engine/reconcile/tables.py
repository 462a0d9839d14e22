"""ORM tables owned by engine.reconcile (migrations on the 'reconcile' Alembic branch).

Statements are stored once per file hash with their lines; breaks are keyed by
(as_of, custodian, account, security line, currency, kind) so that a re-run updates rather
than duplicates; comments and book adjustments hang off a break.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Amount, Base, Quantity, UTCDateTime, utcnow


class Statement(Base):
    """One custodian file as loaded: its name, SHA-256, format, statement date and line counts."""

    __tablename__ = "recon_statements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    custodian: Mapped[str] = mapped_column(String(64), index=True)
    file_name: Mapped[str] = mapped_column(String(260))
    file_hash: Mapped[str] = mapped_column(String(64), unique=True)
    format: Mapped[str] = mapped_column(String(32), doc="generic-csv, profile-csv, semt.002, camt.053")
    kind: Mapped[str] = mapped_column(String(16), doc="positions or cash")
    as_of: Mapped[date] = mapped_column(Date, index=True)
    lines: Mapped[int] = mapped_column(Integer)
    loaded_by: Mapped[str | None] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StatementPosition(Base):
    """A custodian's settled holding: our account code, its identifier as sent, quantity and value."""

    __tablename__ = "recon_positions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("recon_statements.id"), index=True)
    row: Mapped[int] = mapped_column(Integer, doc="line or element number in the source file")
    account_code: Mapped[str] = mapped_column(String(32), index=True)
    custodian_account: Mapped[str] = mapped_column(String(64))
    security_ref: Mapped[str] = mapped_column(String(40))
    id_type: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    currency: Mapped[str | None] = mapped_column(String(3))
    market_value: Mapped[Decimal | None] = mapped_column(Amount())


class StatementCash(Base):
    """A custodian's settled cash balance of one account in one currency."""

    __tablename__ = "recon_cash"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("recon_statements.id"), index=True)
    row: Mapped[int] = mapped_column(Integer)
    account_code: Mapped[str] = mapped_column(String(32), index=True)
    custodian_account: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(Amount())


class Break(Base):
    """One difference (or explained difference) found by a run, and its workflow state."""

    __tablename__ = "recon_breaks"
    __table_args__ = (UniqueConstraint("key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), doc="custodian|account|security|currency|kind")
    as_of: Mapped[date] = mapped_column(Date, index=True)
    custodian: Mapped[str] = mapped_column(String(64), index=True)
    account_code: Mapped[str] = mapped_column(String(32), index=True)
    security_id: Mapped[int | None] = mapped_column(ForeignKey("securities.id"))
    security_ref: Mapped[str | None] = mapped_column(String(40), doc="symbol, or the custodian's id")
    currency: Mapped[str | None] = mapped_column(String(3))
    break_type: Mapped[str] = mapped_column(String(32), index=True)
    book_value: Mapped[Decimal | None] = mapped_column(Amount(), doc="quantity or amount, book side")
    custodian_value: Mapped[Decimal | None] = mapped_column(Amount())
    difference: Mapped[Decimal | None] = mapped_column(Amount(), doc="custodian minus book")
    explanation: Mapped[str | None] = mapped_column(Text)
    refs: Mapped[list[str]] = mapped_column(JSON, default=list, doc="trades or actions named")
    status: Mapped[str] = mapped_column(String(16), doc="open, investigating, resolved, explained")
    owner: Mapped[str | None] = mapped_column(String(64))
    opened_on: Mapped[date] = mapped_column(Date)
    last_seen: Mapped[date] = mapped_column(Date)
    resolution: Mapped[str | None] = mapped_column(String(24), doc="custodian_error, timing, book_adjustment")
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BreakComment(Base):
    """A note on a break by a named user."""

    __tablename__ = "recon_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    break_id: Mapped[int] = mapped_column(ForeignKey("recon_breaks.id"), index=True)
    author: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    text: Mapped[str] = mapped_column(Text)


class Adjustment(Base):
    """A proposed book adjustment (trade or cash entry); booked only when a second person approves."""

    __tablename__ = "recon_adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    break_id: Mapped[int] = mapped_column(ForeignKey("recon_breaks.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8), doc="trade or cash")
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), doc="proposed, booked, rejected")
    author: Mapped[str] = mapped_column(String(64))
    approver: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    booking_ref: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Run(Base):
    """One reconciliation run: its date, who ran it, and the summary per custodian and currency."""

    __tablename__ = "recon_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, index=True)
    run_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    run_by: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
