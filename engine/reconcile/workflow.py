"""Working the breaks: owner, status, comments, resolution, and book adjustments with two people.

Statuses and their moves are the break's state table (engine.state.breaks: open -> investigating
-> resolved, and back to open; explained lines may be resolved as timing); its machine is the
only writer of a break's status and of an adjustment's, and writes each move's audit entry in the
same transaction. Resolutions: custodian_error, timing, book_adjustment; the last only through an
approved adjustment. A book adjustment (a trade booked by the accounting engine's LedgerBooker,
or a cash entry in its cash ledger) is proposed by one user and booked only when a different
user approves it.

Every service takes the acting user, signed in by the caller, and checks their permission before
it writes (engine.access.guard.require, refusals audited): reconcile.work to assign, comment and
resolve, reconcile.adjust to propose an adjustment, reconcile.approve to approve or reject one
(never one's own: four-eyes, the refusal audited too).
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
from engine.audit.chain import record, record_separately
from engine.errors import NotFound
from engine.model.currency import is_currency
from engine.model.enums import Side
from engine.model.trades import TradeFill
from engine.reconcile.errors import BreakWorkflowError
from engine.reconcile.tables import Adjustment, Break, BreakComment
from engine.state.breaks import ADJUSTMENTS, BREAKS, EXPLAINED, INVESTIGATING, OPEN, PROPOSED, RESOLVED
from engine.store.accounts import Account
from engine.store.people import User

STATUSES = (OPEN, INVESTIGATING, RESOLVED, EXPLAINED)
RESOLUTIONS = ("custodian_error", "timing", "book_adjustment")
_EVENT_TO = {INVESTIGATING: "investigate", OPEN: "reopen"}
_CLEARED = {"resolution": None, "resolved_by": None, "resolved_at": None}


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
    """Give the break an owner (an active user); `by` needs reconcile.work."""
    require(session, by, Permission.RECONCILE_WORK)
    _user(session, owner)
    b = _break(session, break_id)
    before = _state(b)
    b.owner = owner
    record(session, by, "reconcile.break.assign", "recon_break", b.id, before, _state(b))
    return b


def set_status(session: Session, break_id: int, status: str, by: str) -> Break:
    """Move between open and investigating, or reopen; resolving goes through `resolve`."""
    require(session, by, Permission.RECONCILE_WORK)
    b = _break(session, break_id)
    event = _EVENT_TO.get(status)
    if event is None or not BREAKS.allows(b.status, event):
        raise BreakWorkflowError(f"break {b.id}: cannot go from {b.status} to {status}")
    BREAKS.fire(session, b, event, actor=by, also=_CLEARED if status == OPEN else None)
    return b


def comment(session: Session, break_id: int, author: str, text: str) -> BreakComment:
    """Add a note to the break."""
    require(session, author, Permission.RECONCILE_WORK)
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
    require(session, by, Permission.RECONCILE_WORK)
    b = _break(session, break_id)
    if resolution not in ("custodian_error", "timing"):
        raise BreakWorkflowError(
            "resolution must be custodian_error or timing; a book adjustment resolves when approved"
        )
    if not BREAKS.allows(b.status, "resolve"):
        raise BreakWorkflowError(f"break {b.id} is already {b.status}")
    if note:
        session.add(BreakComment(break_id=b.id, author=by, text=note))
    BREAKS.fire(session, b, "resolve", actor=by, reason=note,
                also={"resolution": resolution, "resolved_by": by, "resolved_at": datetime.now(UTC)})  # fmt: skip
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
    """Record a proposed book adjustment (needs reconcile.adjust); nothing is booked until someone
    else approves it."""
    require(session, author, Permission.RECONCILE_ADJUST)
    b = _break(session, break_id)
    if b.status == RESOLVED:
        raise BreakWorkflowError(f"break {b.id} is already resolved")
    clean = _check_terms(kind, terms)
    adj = Adjustment(break_id=b.id, kind=kind, terms=clean, author=author)
    ADJUSTMENTS.start(session, adj, PROPOSED, actor=author, event="propose",
                      detail={"break": b.id, "kind": kind, **clean})  # fmt: skip
    return adj


@dataclass(frozen=True)
class AdjustmentResult:
    adjustment_id: int
    break_id: int
    booking_ref: str
    status: str


def _decidable(session: Session, adjustment_id: int, approver: str, verb: str) -> Adjustment:
    """The proposed adjustment `approver` may decide: reconcile.approve, and not its author."""
    require(session, approver, Permission.RECONCILE_APPROVE)
    adj = session.get(Adjustment, adjustment_id)
    if adj is None:
        raise NotFound(f"no adjustment {adjustment_id}")
    if adj.status != PROPOSED:
        raise BreakWorkflowError(f"adjustment {adj.id} is already {adj.status}")
    if approver == adj.author:
        record_separately(session, approver, "reconcile.adjustment.self_refused", "recon_adjustment",
                          entity_id=adj.id, reason="nobody approves their own adjustment")  # fmt: skip
        raise SegregationOfDuties(f"{approver} proposed adjustment {adj.id} and cannot also {verb} it")
    return adj


def approve_adjustment(
    session: Session, adjustment_id: int, approver: str, reason: str | None = None
) -> AdjustmentResult:
    """Book the adjustment through accounting and resolve the break; approver must not be the author."""
    adj = _decidable(session, adjustment_id, approver, "approve")
    b = _break(session, adj.break_id)
    if not BREAKS.allows(b.status, "resolve"):
        raise BreakWorkflowError(f"break {b.id} is already {b.status}; adjustment {adj.id} not booked")
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
    now = datetime.now(UTC)
    ADJUSTMENTS.fire(session, adj, "approve", actor=approver, reason=reason, detail={**t, "author": adj.author},
                     also={"approver": approver, "reason": reason, "booking_ref": ref, "decided_at": now})  # fmt: skip
    BREAKS.fire(session, b, "resolve", actor=approver, reason=ref,
                also={"resolution": "book_adjustment", "resolved_by": approver, "resolved_at": now})  # fmt: skip
    return AdjustmentResult(adj.id, b.id, ref, adj.status)


def reject_adjustment(session: Session, adjustment_id: int, approver: str, reason: str) -> Adjustment:
    """Turn a proposal down (with a reason); the break stays as it was."""
    adj = _decidable(session, adjustment_id, approver, "decide")
    if not reason.strip():
        raise BreakWorkflowError("a rejection needs a reason")
    ADJUSTMENTS.fire(session, adj, "reject", actor=approver, reason=reason,
                     also={"approver": approver, "reason": reason, "decided_at": datetime.now(UTC)})  # fmt: skip
    return adj
