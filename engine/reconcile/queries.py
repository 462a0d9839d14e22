"""Read side of reconciliation for the desktop panel and the CLI: filtered break lists, ageing,
drill-down (the custodian's lines beside the book's lots and pending trades) and run summaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting.settlement import CURRENCY_CALENDAR, _sessions
from engine.accounting.tables import Booking, CashMovement, CorporateAction
from engine.errors import NotFound
from engine.reconcile.tables import (
    Adjustment,
    Break,
    BreakComment,
    Run,
    Statement,
    StatementCash,
    StatementPosition,
)
from engine.store.accounts import Account
from engine.store.positions import TaxLot
from engine.store.reference import Exchange, Security

WORKING = ("open", "investigating")


def business_days(start: date, end: date, calendar: str = "XNYS") -> int:
    """Sessions of `calendar` after `start` up to and including `end` (0 when end <= start)."""
    if end <= start:
        return 0
    s = _sessions(calendar)
    a = np.searchsorted(s, np.datetime64(start, "D"), side="right")
    b = np.searchsorted(s, np.datetime64(end, "D"), side="right")
    return int(b - a)


@dataclass(frozen=True)
class BreakRow:
    """One break as a list shows it; `age` counts business days from opened_on to `until`."""

    id: int
    custodian: str
    account: str
    security: str | None
    currency: str | None
    type: str
    status: str
    owner: str | None
    opened_on: date
    last_seen: date
    age: int
    book: Decimal | None
    statement: Decimal | None
    difference: Decimal | None
    explanation: str | None
    refs: list[str]
    resolution: str | None

    def as_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for k in ("book", "statement", "difference"):
            d[k] = None if d[k] is None else format(d[k].normalize(), "f")
        d["opened_on"], d["last_seen"] = self.opened_on.isoformat(), self.last_seen.isoformat()
        return d


def _calendar(session: Session, b: Break) -> str:
    if b.security_id is not None:
        sec = session.get(Security, b.security_id)
        if sec is not None:
            ex = session.get(Exchange, sec.mic)
            if ex is not None:
                return ex.calendar
    return CURRENCY_CALENDAR.get(b.currency or "", "XNYS")


def _row(session: Session, b: Break, until: date) -> BreakRow:
    end = (
        until
        if b.status in (*WORKING, "explained")
        else (b.resolved_at.date() if b.resolved_at else b.last_seen)
    )
    return BreakRow(
        id=b.id,
        custodian=b.custodian,
        account=b.account_code,
        security=b.security_ref,
        currency=b.currency,
        type=b.break_type,
        status=b.status,
        owner=b.owner,
        opened_on=b.opened_on,
        last_seen=b.last_seen,
        age=business_days(b.opened_on, end, _calendar(session, b)),
        book=None if b.book_value is None else Decimal(b.book_value),
        statement=None if b.custodian_value is None else Decimal(b.custodian_value),
        difference=None if b.difference is None else Decimal(b.difference),
        explanation=b.explanation,
        refs=list(b.refs or []),
        resolution=b.resolution,
    )


def list_breaks(
    session: Session,
    *,
    until: date | None = None,
    custodian: str | None = None,
    account: str | None = None,
    break_type: str | None = None,
    statuses: tuple[str, ...] = (*WORKING, "explained"),
    min_age: int | None = None,
    owner: str | None = None,
) -> list[BreakRow]:
    """Breaks filtered by custodian, account, type, status, owner and minimum age (business days)."""
    q = select(Break).where(Break.status.in_(statuses))
    if custodian:
        q = q.where(Break.custodian == custodian)
    if account:
        q = q.where(Break.account_code == account)
    if break_type:
        q = q.where(Break.break_type == break_type)
    if owner:
        q = q.where(Break.owner == owner)
    rows = list(session.scalars(q.order_by(Break.custodian, Break.account_code, Break.id)))
    if until is None:
        until = max((b.last_seen for b in rows), default=date.today())
    out = [_row(session, b, until) for b in rows]
    return [r for r in out if min_age is None or r.age >= min_age]


@dataclass
class BreakDetail:
    """Drill-down: the break, the custodian's lines, the book's lots and pending trades, the trail."""

    row: BreakRow
    statement_lines: list[dict[str, Any]] = field(default_factory=list)
    lots: list[dict[str, Any]] = field(default_factory=list)
    pending_trades: list[dict[str, Any]] = field(default_factory=list)
    pending_cash: list[dict[str, Any]] = field(default_factory=list)
    corporate_actions: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    adjustments: list[dict[str, Any]] = field(default_factory=list)


def break_detail(session: Session, break_id: int) -> BreakDetail:
    """Everything the panel shows beside one break."""
    b = session.get(Break, break_id)
    if b is None:
        raise NotFound(f"no break {break_id}")
    detail = BreakDetail(row=_row(session, b, b.last_seen))
    account = session.scalars(select(Account).where(Account.code == b.account_code)).first()
    base = select(Statement).where(Statement.custodian == b.custodian, Statement.as_of == b.last_seen)
    stmt_ids = [s.id for s in session.scalars(base)]
    if b.security_id is not None or b.break_type == "unknown_security":
        sec = session.get(Security, b.security_id) if b.security_id is not None else None
        ids = {x for x in (sec.isin, sec.cusip, sec.sedol) if x} if sec else set()
        if sec and sec.local_ticker:
            ids.add(f"{sec.local_ticker}.{sec.mic}".upper())
        if not sec and b.security_ref and ":" in b.security_ref:
            ids.add(b.security_ref.split(":", 1)[1])
        for p in session.scalars(
            select(StatementPosition).where(
                StatementPosition.statement_id.in_(stmt_ids),
                StatementPosition.account_code == b.account_code,
                StatementPosition.security_ref.in_(ids),
            )
        ):
            detail.statement_lines.append(
                {
                    "statement_id": p.statement_id,
                    "row": p.row,
                    "custodian_account": p.custodian_account,
                    "security_ref": p.security_ref,
                    "id_type": p.id_type,
                    "quantity": str(p.quantity),
                    "currency": p.currency,
                    "market_value": None if p.market_value is None else str(p.market_value),
                }
            )
        if account is not None and b.security_id is not None:
            for lot in session.scalars(
                select(TaxLot)
                .where(TaxLot.account_id == account.id, TaxLot.security_id == b.security_id)
                .order_by(TaxLot.acquired)
            ):
                detail.lots.append(
                    {
                        "lot_ref": lot.lot_ref,
                        "quantity": str(lot.quantity),
                        "unit_cost": str(lot.unit_cost),
                        "acquired": lot.acquired.isoformat(),
                    }
                )
            for t in session.scalars(
                select(Booking).where(
                    Booking.account_id == account.id,
                    Booking.security_id == b.security_id,
                    Booking.kind == "trade",
                    Booking.settle_date > b.last_seen,
                )
            ):
                detail.pending_trades.append(
                    {
                        "source_ref": t.source_ref,
                        "side": t.side,
                        "quantity": str(t.quantity),
                        "price": str(t.price),
                        "trade_date": t.trade_date.isoformat(),
                        "settle_date": t.settle_date.isoformat() if t.settle_date else None,
                    }
                )
            for ca in session.scalars(
                select(CorporateAction).where(CorporateAction.security_id == b.security_id)
            ):
                detail.corporate_actions.append(
                    {
                        "ref": ca.ref,
                        "kind": ca.kind,
                        "ex_date": ca.ex_date.isoformat(),
                        "ratio": f"{ca.ratio_new}:{ca.ratio_old}" if ca.ratio_new else None,
                        "applied": ca.applied_at is not None,
                    }
                )
    else:
        for c in session.scalars(
            select(StatementCash).where(
                StatementCash.statement_id.in_(stmt_ids),
                StatementCash.account_code == b.account_code,
                StatementCash.currency == b.currency,
            )
        ):
            detail.statement_lines.append(
                {
                    "statement_id": c.statement_id,
                    "row": c.row,
                    "custodian_account": c.custodian_account,
                    "currency": c.currency,
                    "amount": str(c.amount),
                }
            )
        if account is not None:
            for mv in session.scalars(
                select(CashMovement).where(
                    CashMovement.account_id == account.id,
                    CashMovement.currency == b.currency,
                    CashMovement.settle_date > b.last_seen,
                )
            ):
                detail.pending_cash.append(
                    {
                        "amount": str(mv.amount),
                        "kind": mv.kind,
                        "trade_date": mv.trade_date.isoformat(),
                        "settle_date": mv.settle_date.isoformat(),
                        "note": mv.note,
                    }
                )
    for note in session.scalars(
        select(BreakComment).where(BreakComment.break_id == b.id).order_by(BreakComment.id)
    ):
        detail.comments.append({"author": note.author, "at": note.at.isoformat(), "text": note.text})
    for a in session.scalars(select(Adjustment).where(Adjustment.break_id == b.id).order_by(Adjustment.id)):
        detail.adjustments.append(
            {
                "id": a.id,
                "kind": a.kind,
                "terms": a.terms,
                "status": a.status,
                "author": a.author,
                "approver": a.approver,
                "booking_ref": a.booking_ref,
            }
        )
    return detail


def run_summary(session: Session, as_of: date) -> list[dict[str, Any]]:
    """The summary of the latest run for the date (per custodian and currency)."""
    run = session.scalars(select(Run).where(Run.as_of == as_of).order_by(Run.id.desc()).limit(1)).first()
    if run is None:
        raise NotFound(f"no reconciliation run for {as_of}")
    return list(run.summary)
