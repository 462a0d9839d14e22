"""ORM tables owned by engine.accounting (migrations on the 'accounting' Alembic branch).

Bookings make every posting idempotent on its source reference; realized gains keep one row per
lot relieved (with the wash-sale trail); the cash ledger keeps one row per movement so that
settled and unsettled balances can be rebuilt. Rules (holding periods, withholding, substantially
identical groups) are data with effective dates, not code.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Amount, Base, Price, Quantity, Rate, UTCDateTime, utcnow


class Booking(Base):
    """One posting into the ledger (trade, FX spot, corporate action, flow), keyed by source_ref."""

    __tablename__ = "bookings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_ref: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(24), doc="trade, fx_spot, split, dividend, rename, flow")
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    security_id: Mapped[int | None] = mapped_column(ForeignKey("securities.id"), index=True)
    side: Mapped[str | None] = mapped_column(String(8))
    quantity: Mapped[Decimal | None] = mapped_column(Quantity())
    price: Mapped[Decimal | None] = mapped_column(Price())
    commission: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    fees: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    currency: Mapped[str | None] = mapped_column(String(3))
    cash_amount: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    trade_date: Mapped[date] = mapped_column(Date, index=True)
    settle_date: Mapped[date | None] = mapped_column(Date)
    lot_ref: Mapped[str | None] = mapped_column(String(40), doc="the lot a buy opened")
    replacement_used: Mapped[Decimal] = mapped_column(
        Quantity(), default=Decimal(0), doc="shares of this buy already used as wash-sale replacement"
    )
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RealizedGain(Base):
    """A lot (or part of one) relieved by a sale: proceeds, cost, gain split, term, wash trail."""

    __tablename__ = "realized_gains"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    security_id: Mapped[int] = mapped_column(ForeignKey("securities.id"), index=True)
    lot_ref: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    acquired: Mapped[date] = mapped_column(Date, doc="start of the holding period")
    sold: Mapped[date] = mapped_column(Date, index=True)
    currency: Mapped[str] = mapped_column(String(3))
    base_currency: Mapped[str] = mapped_column(String(3))
    proceeds_local: Mapped[Decimal] = mapped_column(Amount())
    cost_local: Mapped[Decimal] = mapped_column(Amount())
    proceeds_base: Mapped[Decimal] = mapped_column(Amount())
    cost_base: Mapped[Decimal] = mapped_column(Amount())
    gain_base: Mapped[Decimal] = mapped_column(Amount())
    price_gain_base: Mapped[Decimal] = mapped_column(Amount(), doc="local gain at the sale rate")
    fx_gain_base: Mapped[Decimal] = mapped_column(Amount(), doc="cost x (sale rate - purchase rate)")
    term: Mapped[str] = mapped_column(String(8), doc="short, long, or none where no rule applies")
    wash_disallowed_base: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))
    wash_unmatched_qty: Mapped[Decimal] = mapped_column(
        Quantity(), default=Decimal(0), doc="shares of a wash-eligible loss not yet matched"
    )
    wash_note: Mapped[str | None] = mapped_column(Text)


class CashMovement(Base):
    """One movement of cash in one currency; unsettled until its settle date has been reached."""

    __tablename__ = "cash_movements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(Amount())
    kind: Mapped[str] = mapped_column(String(24), doc="trade, dividend, withholding, fx, flow")
    trade_date: Mapped[date] = mapped_column(Date)
    settle_date: Mapped[date] = mapped_column(Date, index=True)
    settled: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)


class HoldingPeriodRule(Base):
    """Long-term when held more than `long_after_months` (day bought not counted, day sold counted)."""

    __tablename__ = "holding_period_rules"

    jurisdiction: Mapped[str] = mapped_column(String(2), primary_key=True)
    long_after_months: Mapped[int] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(Text)


class WithholdingRate(Base):
    """Dividend withholding by (source country, residence country or '*'), from a date."""

    __tablename__ = "withholding_rates"
    __table_args__ = (UniqueConstraint("source_country", "residence", "effective_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_country: Mapped[str] = mapped_column(String(2))
    residence: Mapped[str] = mapped_column(String(2), doc="account tax jurisdiction, or '*' for any")
    effective_from: Mapped[date] = mapped_column(Date)
    rate: Mapped[Decimal] = mapped_column(Rate())
    note: Mapped[str | None] = mapped_column(Text)


class IdenticalGroup(Base):
    """Extra 'substantially identical' mapping for wash sales (ADR/ordinary pairs are implied)."""

    __tablename__ = "identical_groups"

    security_id: Mapped[int] = mapped_column(ForeignKey("securities.id"), primary_key=True)
    group_code: Mapped[str] = mapped_column(String(40), index=True)


class CorporateAction(Base):
    """A corporate action as data: its dates, its terms, who entered and approved it, its status.

    Kinds: split (a reverse split is a split with ratio_new < ratio_old), dividend (cash),
    stock_dividend, merger (cash `amount`, stock `ratio_new`/`ratio_old` into `new_security_id`,
    or both), spinoff, rename, delisting. Status moves only through
    engine.state.corporate.CORPORATE_ACTIONS; `applied_at` is when it was booked (once, by `ref`).
    """

    __tablename__ = "corporate_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    security_id: Mapped[int] = mapped_column(ForeignKey("securities.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    announce_date: Mapped[date | None] = mapped_column(Date)
    ex_date: Mapped[date] = mapped_column(Date)
    record_date: Mapped[date | None] = mapped_column(Date)
    pay_date: Mapped[date | None] = mapped_column(Date)
    ratio_new: Mapped[Decimal | None] = mapped_column(Rate(), doc="new shares per ratio_old held")
    ratio_old: Mapped[Decimal | None] = mapped_column(Rate())
    amount: Mapped[Decimal | None] = mapped_column(
        Price(), doc="cash per share held: dividend, merger cash, delisting value (security currency)"
    )
    new_security_id: Mapped[int | None] = mapped_column(
        ForeignKey("securities.id"), doc="merger: the acquirer's shares; spin-off: the new company's"
    )
    allocation: Mapped[Decimal | None] = mapped_column(
        Rate(),
        doc="fraction of the basis allocated to the spun-off shares (spin-off) or to the cash (merger)",
    )
    new_price: Mapped[Decimal | None] = mapped_column(
        Price(), doc="fair value of one new share (allocates a cash-and-stock merger's basis)"
    )
    lieu_price: Mapped[Decimal | None] = mapped_column(
        Price(), doc="cash per whole resulting share paid for fractions (none: fractions are kept)"
    )
    new_symbol: Mapped[str | None] = mapped_column(String(32))
    new_isin: Mapped[str | None] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(
        String(20), default="announced", server_default="announced", index=True
    )
    source: Mapped[str | None] = mapped_column(String(128), doc="file name, or 'cli'")
    entered_by: Mapped[str | None] = mapped_column(String(64))
    decided_by: Mapped[str | None] = mapped_column(String(64), doc="who approved or rejected it")
    decision_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __mapper_args__ = {"version_id_col": version}
