"""Positions: tax lots and cash balances per account and currency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.store.accounts import Account
from engine.store.base import Amount, Base, Price, Quantity, Rate
from engine.store.reference import Security


class TaxLot(Base):
    """An open lot: quantity bought together, cost in the security's currency, FX at purchase."""

    __tablename__ = "tax_lots"
    __table_args__ = (UniqueConstraint("account_id", "lot_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    security_id: Mapped[int] = mapped_column(ForeignKey("securities.id"), index=True)
    lot_ref: Mapped[str] = mapped_column(String(40), doc="lot key unique within the account")
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    unit_cost: Mapped[Decimal] = mapped_column(Price(), doc="in the security's currency")
    acquired: Mapped[date] = mapped_column(Date)
    fx_rate: Mapped[Decimal] = mapped_column(
        Rate(), doc="units of the account's base currency per unit of the security's, at purchase"
    )

    account: Mapped[Account] = relationship()
    security: Mapped[Security] = relationship()


class CashBalance(Base):
    """Cash of one account in one currency: settled, and unsettled (trades not yet settled)."""

    __tablename__ = "cash_balances"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    settled: Mapped[Decimal] = mapped_column(Amount())
    unsettled: Mapped[Decimal] = mapped_column(Amount(), default=Decimal(0))

    account: Mapped[Account] = relationship()
