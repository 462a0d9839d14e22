"""ORM tables owned by engine.compliance (migrations on the 'compliance' Alembic branch).

Rules are data: one row per (code, version), effective-dated; assignments say where a rule
applies (firm, model, household, account). Accounts, securities and orders are referred to by
code, symbol or id without foreign keys, so a book can be rebuilt without losing rule history.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.base import Base, Quantity, UTCDateTime, utcnow


class RuleVersion(Base):
    """One version of a compliance rule: a template, its parameters, a severity and a date range."""

    __tablename__ = "compliance_rules"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer)
    template: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(8), doc="hard, soft or info")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date, doc="first day no longer in force")
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)


class RuleAssignment(Base):
    """Where a rule applies: the firm (scope_key empty), a model, a household or an account code."""

    __tablename__ = "compliance_rule_assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_code: Mapped[str] = mapped_column(String(40), index=True)
    scope: Mapped[str] = mapped_column(String(16))
    scope_key: Mapped[str | None] = mapped_column(String(64))
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ListEntry(Base):
    """A security on the restricted or watch list, firm-wide (account empty) or for one account."""

    __tablename__ = "compliance_list_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_kind: Mapped[str] = mapped_column(String(16), doc="restricted or watch")
    symbol: Mapped[str] = mapped_column(String(32), index=True)
    account_code: Mapped[str | None] = mapped_column(String(32))
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CheckResult(Base):
    """One rule's verdict on one order in one check run, with its numbers (appended, never changed)."""

    __tablename__ = "compliance_check_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(40), index=True)
    entity: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[str | None] = mapped_column(String(64), index=True)
    account_code: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[Decimal] = mapped_column(Quantity())
    rule_code: Mapped[str] = mapped_column(String(40))
    rule_version: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(8))
    limit_value: Mapped[float | None] = mapped_column(Float)
    before_value: Mapped[float | None] = mapped_column(Float)
    after_value: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(Text)
    checked_by: Mapped[str] = mapped_column(String(64))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApprovalCase(Base):
    """The workflow state of one order or proposal: draft -> checked -> pending -> approved -> released."""

    __tablename__ = "compliance_approvals"
    __table_args__ = (UniqueConstraint("entity", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(16), doc="order or proposal")
    entity_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(24), index=True)
    outcome: Mapped[str | None] = mapped_column(String(8), doc="worst outcome of the last check")
    hard_block: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(64), doc="who made the trade")
    terms: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, doc="orders as checked")
    run_id: Mapped[str | None] = mapped_column(String(40))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class ApprovalDecision(Base):
    """A reviewer's approval or rejection, with a reason code and comment (appended, never changed)."""

    __tablename__ = "compliance_approval_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    approval_id: Mapped[int] = mapped_column(ForeignKey("compliance_approvals.id"), index=True)
    run_id: Mapped[str | None] = mapped_column(String(40))
    username: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(16), doc="approve or reject")
    reason_code: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(Text, default="")
    override: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class KillSwitch(Base):
    """A routing stop for the firm, a desk, an account or a trader's orders; released (never deleted) to lift it."""

    __tablename__ = "compliance_kill_switches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(16), doc="firm, desk, account or trader")
    scope_key: Mapped[str | None] = mapped_column(String(64))
    engaged_by: Mapped[str] = mapped_column(String(64))
    engaged_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reason: Mapped[str] = mapped_column(Text)
    released_by: Mapped[str | None] = mapped_column(String(64))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    release_reason: Mapped[str | None] = mapped_column(Text)


class DeskAccount(Base):
    """Which trading desk an account belongs to (desk kill switches and desk credit limits)."""

    __tablename__ = "compliance_desk_accounts"

    account_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    desk: Mapped[str] = mapped_column(String(32), index=True)
