"""ORM tables owned by engine.activity (migrations on the 'activity' Alembic branch).

`activity_files` keeps each loaded file once by its SHA-256; `activity_lines` keeps each custodian
line once by its natural key (custodian, reference), with what it was and the booking it made; a
reversal line names the line it cancels (`reverses`, unique per custodian: a line is reversed once).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Amount, Base, Price, Quantity, UTCDateTime, utcnow


class ActivityFile(Base):
    """One custodian activity file, loaded once (by content hash), with counts per kind."""

    __tablename__ = "activity_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    custodian: Mapped[str] = mapped_column(String(64), index=True)
    file_name: Mapped[str] = mapped_column(String(260))
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    format: Mapped[str] = mapped_column(String(32))
    lines: Mapped[int] = mapped_column(Integer)
    booked: Mapped[int] = mapped_column(Integer, doc="lines booked by this file")
    skipped: Mapped[int] = mapped_column(Integer, doc="identical lines booked before by another file")
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, doc="booked lines per kind")
    loaded_by: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ActivityLine(Base):
    """One custodian activity line, booked once per (custodian, reference)."""

    __tablename__ = "activity_lines"
    __table_args__ = (UniqueConstraint("custodian", "reference"), UniqueConstraint("custodian", "reverses"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("activity_files.id"), index=True)
    row: Mapped[int] = mapped_column(Integer)
    custodian: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(64), doc="the custodian's transaction reference")
    fingerprint: Mapped[str] = mapped_column(String(64), doc="SHA-256 of the line's content")
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    external: Mapped[bool] = mapped_column(Boolean, doc="an external flow (deposit, withdrawal, transfer)")
    trade_date: Mapped[date] = mapped_column(Date, index=True)
    settle_date: Mapped[date | None] = mapped_column(Date)
    security_id: Mapped[int | None] = mapped_column(ForeignKey("securities.id"))
    currency: Mapped[str | None] = mapped_column(String(3))
    quantity: Mapped[Decimal | None] = mapped_column(Quantity())
    price: Mapped[Decimal | None] = mapped_column(Price())
    commission: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    amount: Mapped[Decimal | None] = mapped_column(Amount(), doc="net cash, or a transfer's value")
    gross: Mapped[Decimal | None] = mapped_column(Amount())
    withholding: Mapped[Decimal | None] = mapped_column(Amount())
    counter_currency: Mapped[str | None] = mapped_column(String(3))
    counter_amount: Mapped[Decimal | None] = mapped_column(Amount())
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, doc="lots opened or relieved")
    end_to_end: Mapped[str | None] = mapped_column(
        String(64), index=True, doc="the payment's end-to-end id (camt.053), which a reversal may name"
    )
    reverses: Mapped[str | None] = mapped_column(
        String(64), doc="a reversal: the reference of the line it cancels (once: unique per custodian)"
    )
