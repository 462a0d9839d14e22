"""ORM tables of transition plans and the exception queue (migration 1502_transitions, 'rebalance' branch).

- transition_plans: a legacy portfolio's move onto a model over K steps, its budgets and the
  projection made when it was planned (engine.rebalance.transition_store).
- transition_steps: one row per step, moved planned -> proposed -> done by engine.state.transitions;
  `proposal_id` is the proposal the step became (no foreign key: retention may purge proposals).
- proposal_exceptions: a proposal over a limit (engine.rebalance.exceptions), waiting for a PM's
  sign-off before it can be accepted.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Amount, Base, UTCDateTime, utcnow


class TransitionPlan(Base):
    """A transition of one account onto a model in K steps, each within its budgets."""

    __tablename__ = "transition_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"))
    steps: Mapped[int] = mapped_column(Integer)
    turnover: Mapped[float] = mapped_column(Float, doc="cap on (buys + sells) / value per step")
    tax_budget: Mapped[Decimal | None] = mapped_column(Amount(), doc="estimated tax per step; NULL: none")
    currency: Mapped[str] = mapped_column(String(3), doc="the account's base currency (the tax budget's)")
    tolerance: Mapped[float] = mapped_column(Float)
    every_days: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    projection: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __mapper_args__ = {"version_id_col": version}


class TransitionStep(Base):
    """One step of a plan: planned, proposed (a proposal exists), or done (its proposal released)."""

    __tablename__ = "transition_steps"
    __table_args__ = (UniqueConstraint("plan_id", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("transition_plans.id"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    proposal_id: Mapped[int | None] = mapped_column(Integer)
    batch_id: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class ProposalException(Base):
    """A proposal over a limit, waiting for (or given, or denied) a PM's sign-off."""

    __tablename__ = "proposal_exceptions"
    __table_args__ = (UniqueConstraint("proposal_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), doc="the limit's code")
    detail: Mapped[str] = mapped_column(Text, doc="what crossed the limit, in words")
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), index=True)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
