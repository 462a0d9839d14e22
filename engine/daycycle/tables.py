"""ORM tables owned by engine.daycycle (migrations on the 'daycycle' Alembic branch).

A close of a date is one `day_runs` row and one `day_steps` row per step (status, counts,
exceptions, when), so a re-run knows what is done and a failed run resumes at its step. Every
file met in the inbox is one `inbox_files` row keyed by its SHA-256 (what it brought, or why it
was refused). `account_daily_values` holds each account's end-of-day value and external flows
in its base currency: the true history performance reads.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Amount, Base, UTCDateTime, utcnow


class DayRun(Base):
    """The close of one date: running, failed (resumable) or closed."""

    __tablename__ = "day_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    status: Mapped[str] = mapped_column(String(16), doc="running, failed, closed")
    run_by: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class DayStep(Base):
    """One step of a date's close: its status, counts and exceptions (a list of dicts)."""

    __tablename__ = "day_steps"
    __table_args__ = (UniqueConstraint("day", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("day_runs.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    step: Mapped[str] = mapped_column(String(24))
    position: Mapped[int] = mapped_column(Integer, doc="1 for the first step of the cycle")
    status: Mapped[str] = mapped_column(String(16), doc="running, done, failed")
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    exceptions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class InboxFile(Base):
    """A file met in the inbox, by content: loaded (what it brought) or refused (row, field, reason)."""

    __tablename__ = "inbox_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(260), doc="path inside the inbox, e.g. ecb/eurofxref-daily.xml")
    folder: Mapped[str] = mapped_column(String(64), doc="the custodian or vendor folder")
    kind: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(24))
    day: Mapped[date] = mapped_column(Date, index=True, doc="the close that last met it")
    status: Mapped[str] = mapped_column(String(16), doc="loaded or refused")
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class AccountDailyValue(Base):
    """One account's end of `day` in its base currency: value, and the flows of that day.

    value = market_value + cash. `flows` = external flows (`cash_flows`: deposits and withdrawals;
    `transfers`: securities moved in or out in kind at the day's close), what performance takes
    out of return. `income` (dividends and interest net of withholding) and `fees` are return,
    recorded apart for reports.
    """

    __tablename__ = "account_daily_values"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    base_currency: Mapped[str] = mapped_column(String(3))
    market_value: Mapped[Decimal] = mapped_column(Amount())
    cash: Mapped[Decimal] = mapped_column(Amount())
    value: Mapped[Decimal] = mapped_column(Amount())
    flows: Mapped[Decimal] = mapped_column(Amount())
    cash_flows: Mapped[Decimal] = mapped_column(Amount())
    transfers: Mapped[Decimal] = mapped_column(Amount())
    income: Mapped[Decimal] = mapped_column(Amount())
    fees: Mapped[Decimal] = mapped_column(Amount())
    stale: Mapped[int] = mapped_column(Integer, default=0, doc="stale prices or rates in the value")
