"""ORM tables owned by engine.rebalance (migrations on the 'rebalance' Alembic branch).

- proposals: one rebalance proposal per account and run, its status moved by engine.state.proposals.
- household_groups: households whose accounts rebalance together in one problem, with their target
  (a household model, or the value-weighted blend of the accounts' models), reporting currency,
  annual tax budget and loss carry-forward (engine.rebalance.households).
- account_tax_budgets: an account's annual tax budget (engine.rebalance.tax_year).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Amount, Base, UTCDateTime, utcnow


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


class HouseholdGroup(Base):
    """A household rebalanced as one problem: target, reporting currency, tax budget, carry-forward."""

    __tablename__ = "household_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), unique=True)
    target_model_id: Mapped[int | None] = mapped_column(
        ForeignKey("models.id"),
        doc="the household model; NULL: the value-weighted blend of its accounts' models",
    )
    reporting_currency: Mapped[str] = mapped_column(String(3))
    tax_budget: Mapped[Decimal | None] = mapped_column(
        Amount(), doc="cap on additional estimated tax this year (reporting currency); NULL: none"
    )
    carry_forward: Mapped[Decimal] = mapped_column(
        Amount(), default=Decimal(0), doc="capital loss carried forward from earlier years (positive amount)"
    )
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class AccountTaxBudget(Base):
    """An account's annual tax budget: cap on the estimated tax of its realized gains in a calendar
    year, year-to-date realized gains included (engine.rebalance.tax_year)."""

    __tablename__ = "account_tax_budgets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), unique=True)
    currency: Mapped[str] = mapped_column(String(3), doc="the account's base currency when set")
    tax_budget: Mapped[Decimal] = mapped_column(Amount(), doc="estimated tax allowed this calendar year")
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
