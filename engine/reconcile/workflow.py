"""Working the breaks: owner, status, comments, resolution, and book adjustments with two people.

Statuses: open -> investigating -> resolved (and back to open); explained lines may be resolved
as timing. Resolutions: custodian_error, timing, book_adjustment; the last only through an
approved adjustment. A book adjustment (a trade booked by the accounting engine's LedgerBooker,
or a cash entry in its cash ledger) is proposed by one user and booked only when a different
user with the approvals permission approves it. Every change is written to the audit chain in
the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.errors import SegregationOfDuties
from engine.access.guard import require
from engine.access.permissions import Permission
from engine.accounting.booking import LedgerBooker
from engine.accounting.cash import post_cash
from engine.audit.chain import record
from engine.errors import NotFound
from engine.model.currency import is_currency
from engine.model.enums import Side
from engine.model.trades import TradeFill
from engine.reconcile.errors import BreakWorkflowError
from engine.reconcile.tables import Adjustment, Break, BreakComment
from engine.store.accounts import Account
from engine.store.people import User

STATUSES = ("open", "investigating", "resolved", "explained")
RESOLUTIONS = ("custodian_error", "timing", "book_adjustment")
_MOVES = {
    ("open", "investigating"),
    ("investigating", "open"),
    ("resolved", "open"),
    ("explained", "open"),
}


def _user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        raise NotFound(f"no active user {username!r}")
    return user


def _break(session: Session, break_id: int) -> Break:
    b = session.get(Break, break_id)
    if b is None:
        raise NotFound(f"no break {break_id}")
    return b


def _state(b: Break) -> dict[str, Any]:
    return {"status": b.status, "owner": b.owner, "resolution": b.resolution}


def assign(session: Session, break_id: int, owner: str, by: str) -> Break:
    """Give the break an owner (an active user)."""
    _user(session, by)
    _user(session, owner)
    b = _break(session, break_id)
    before = _state(b)
    b.owner = owner
    record(session, by, "reconcile.break.assign", "recon_break", b.id, before, _state(b))
    return b


def set_status(session: Session, break_id: int, status: str, by: str) -> Break:
    """Move between open and investigating, or reopen; resolving goes through `resolve`."""
    _user(session, by)
    b = _break(session, break_id)
    if (b.status, status) not in _MOVES:
        raise BreakWorkflowError(f"break {b.id}: cannot go from {b.status} to {status}")
    before = _state(b)
    b.status = status
    if status == "open":
        b.resolution, b.resolved_by, b.resolved_at = None, None, None
    record(session, by, "reconcile.break.status", "recon_break", b.id, before, _state(b))
    return b


def comment(session: Session, break_id: int, author: str, text: str) -> BreakComment:
    """Add a note to the break."""
    _user(session, author)
    b = _break(session, break_id)
    if not text.strip():
        raise BreakWorkflowError("a comment needs text")
    c = BreakComment(break_id=b.id, author=author, text=text.strip())
    session.add(c)
    session.flush()
    record(session, author, "reconcile.break.comment", "recon_break", b.id, None, {"comment": c.text})
    return c


def resolve(session: Session, break_id: int, resolution: str, by: str, note: str | None = None) -> Break:
    """Close the break as a custodian error or timing (book adjustments close through approval)."""
    _user(session, by)
    b = _break(session, break_id)
    if resolution not in ("custodian_error", "timing"):
        raise BreakWorkflowError(
            "resolution must be custodian_error or timing; a book adjustment resolves when approved"
        )
    if b.status == "resolved":
        raise BreakWorkflowError(f"break {b.id} is already resolved")
    before = _state(b)
    b.status, b.resolution, b.resolved_by, b.resolved_at = "resolved", resolution, by, datetime.now(UTC)
    if note:
        session.add(BreakComment(break_id=b.id, author=by, text=note))
    record(session, by, "reconcile.break.resolve", "recon_break", b.id, before, _state(b), reason=note)
    return b


def _dec(terms: dict[str, Any], key: str) -> Decimal:
    try:
        value = Decimal(str(terms[key]))
    except (KeyError, InvalidOperation):
        raise BreakWorkflowError(f"adjustment needs a numeric {key}") from None
    if not value.is_finite():
        raise BreakWorkflowError(f"adjustment {key} must be finite")
    return value


def _check_terms(kind: str, terms: dict[str, Any]) -> dict[str, Any]:
    """Normalised terms (strings) or BreakWorkflowError naming the bad one."""
    try:
        on = date.fromisoformat(str(terms.get("date", "")))
    except ValueError:
        raise BreakWorkflowError("adjustment needs a date (YYYY-MM-DD)") from None
    if kind == "trade":
        side = str(terms.get("side", "")).lower()
        if side not in ("buy", "sell"):
            raise BreakWorkflowError("a trade adjustment needs side buy or sell")
        qty, price = _dec(terms, "quantity"), _dec(terms, "price")
        if qty <= 0 or price < 0:
            raise BreakWorkflowError("a trade adjustment needs a positive quantity and a price >= 0")
        if not terms.get("symbol"):
            raise BreakWorkflowError("a trade adjustment needs a symbol")
        return {
            "side": side,
            "symbol": str(terms["symbol"]),
            "quantity": str(qty),
            "price": str(price),
            "date": on.isoformat(),
        }
    if kind == "cash":
        ccy = str(terms.get("currency", "")).upper()
        if not is_currency(ccy):
            raise BreakWorkflowError("a cash adjustment needs an ISO currency")
        amount = _dec(terms, "amount")
        if amount == 0:
            raise BreakWorkflowError("a cash adjustment needs a non-zero amount")
        return {
            "currency": ccy,
            "amount": str(amount),
            "date": on.isoformat(),
            "note": str(terms.get("note", "")),
        }
    raise BreakWorkflowError("an adjustment is a trade or a cash entry")


def propose_adjustment(
    session: Session, break_id: int, author: str, kind: str, terms: dict[str, Any]
) -> Adjustment:
    """Record a proposed book adjustment; nothing is booked until someone else approves it."""
    _user(session, author)
    b = _break(session, break_id)
    if b.status == "resolved":
        raise BreakWorkflowError(f"break {b.id} is already resolved")
    clean = _check_terms(kind, terms)
    adj = Adjustment(break_id=b.id, kind=kind, terms=clean, status="proposed", author=author)
    session.add(adj)
    session.flush()
    record(
        session,
        author,
        "reconcile.adjustment.propose",
        "recon_adjustment",
        adj.id,
        None,
        {"break": b.id, "kind": kind, **clean},
    )
    return adj


@dataclass(frozen=True)
class AdjustmentResult:
    adjustment_id: int
    break_id: int
    booking_ref: str
    status: str


def approve_adjustment(
    session: Session, adjustment_id: int, approver: str, reason: str | None = None
) -> AdjustmentResult:
    """Book the adjustment through accounting and resolve the break; approver must not be the author."""
    adj = session.get(Adjustment, adjustment_id)
    if adj is None:
        raise NotFound(f"no adjustment {adjustment_id}")
    if adj.status != "proposed":
        raise BreakWorkflowError(f"adjustment {adj.id} is already {adj.status}")
    if approver == adj.author:
        raise SegregationOfDuties(f"{approver} proposed adjustment {adj.id} and cannot also approve it")
    require(session, approver, Permission.APPROVE)
    b = _break(session, adj.break_id)
    account = session.scalars(select(Account).where(Account.code == b.account_code)).first()
    if account is None:
        raise NotFound(f"no account {b.account_code}")
    ref = f"RECON-ADJ-{adj.id}"
    t = adj.terms
    on = date.fromisoformat(t["date"])
    if adj.kind == "trade":
        LedgerBooker().book(
            session,
            TradeFill(
                account=account.code,
                symbol=t["symbol"],
                side=Side(t["side"]),
                quantity=Decimal(t["quantity"]),
                price=Decimal(t["price"]),
                trade_date=on,
                settle_date=on,
                source_ref=ref,
            ),
        )
    else:
        post_cash(
            session,
            account_id=account.id,
            currency=t["currency"],
            amount=Decimal(t["amount"]),
            kind="adjustment",
            trade_date=on,
            settle_date=on,
            booking_id=None,
            note=f"{ref}: reconciliation break {b.id} {t.get('note') or ''}".strip(),
            settled=True,
        )
    before = _state(b)
    now = datetime.now(UTC)
    adj.status, adj.approver, adj.reason, adj.booking_ref, adj.decided_at = (
        "booked",
        approver,
        reason,
        ref,
        now,
    )
    b.status, b.resolution, b.resolved_by, b.resolved_at = "resolved", "book_adjustment", approver, now
    record(
        session,
        approver,
        "reconcile.adjustment.approve",
        "recon_adjustment",
        adj.id,
        {"status": "proposed", "author": adj.author},
        {"status": "booked", "booking_ref": ref, **t},
        reason=reason,
    )
    record(session, approver, "reconcile.break.resolve", "recon_break", b.id, before, _state(b), reason=ref)
    return AdjustmentResult(adj.id, b.id, ref, adj.status)


def reject_adjustment(session: Session, adjustment_id: int, approver: str, reason: str) -> Adjustment:
    """Turn a proposal down (with a reason); the break stays as it was."""
    adj = session.get(Adjustment, adjustment_id)
    if adj is None:
        raise NotFound(f"no adjustment {adjustment_id}")
    if adj.status != "proposed":
        raise BreakWorkflowError(f"adjustment {adj.id} is already {adj.status}")
    if approver == adj.author:
        raise SegregationOfDuties(f"{approver} proposed adjustment {adj.id} and cannot also decide it")
    require(session, approver, Permission.APPROVE)
    if not reason.strip():
        raise BreakWorkflowError("a rejection needs a reason")
    adj.status, adj.approver, adj.reason, adj.decided_at = "rejected", approver, reason, datetime.now(UTC)
    record(
        session,
        approver,
        "reconcile.adjustment.reject",
        "recon_adjustment",
        adj.id,
        {"status": "proposed"},
        {"status": "rejected"},
        reason=reason,
    )
    return adj
