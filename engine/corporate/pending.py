"""Corporate actions that suspend an account from rebalancing until they are booked.

Rule (docs/accounting.md): an action that changes a position (every kind but a cash dividend),
not yet booked (announced, or entered and awaiting its second approver), suspends every account
holding the security once its ex date is reached (ex date <= the rebalance's book date): from
then the book's lots no longer say what the account holds (the prices already quote the new
shares, or the shares are gone), so a solve would trade the wrong quantities. Before the ex date
the book is right: a trade done then is done in the old shares and carried through the action
when it is booked (the entitlement goes by trade date), so nothing is suspended ahead. A cash
dividend never suspends: neither the shares nor their identity change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting.tables import CorporateAction
from engine.corporate.terms import CASH_ONLY, display_kind
from engine.state.corporate import ANNOUNCED, PENDING_APPROVAL
from engine.store.reference import Security


@dataclass(frozen=True)
class PendingAction:
    """One unbooked action that suspends the holders of `name` (shaped like a stale item)."""

    ref: str
    action: str  # the kind as entered (split, reverse_split, merger, ...)
    name: str  # the security's symbol
    security_id: int
    ex_date: date
    status: str
    kind: str = "corporate_action"

    def reason(self) -> str:
        """`pending corporate action SIM-SPLIT-1 (split, ex 2026-12-08) on XYZ: not booked`"""
        wait = "awaiting approval" if self.status == PENDING_APPROVAL else "not booked"
        return (
            f"pending corporate action {self.ref} ({self.action}, ex {self.ex_date}) on {self.name}: {wait}"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "name": self.name,
            "ref": self.ref,
            "action": self.action,
            "ex_date": self.ex_date.isoformat(),
            "status": self.status,
            "reason": self.reason(),
        }


def pending_actions(session: Session, as_of: date) -> dict[int, list[PendingAction]]:
    """Security id -> the unbooked actions that suspend its holders on `as_of` (see the module)."""
    rows = session.execute(
        select(CorporateAction, Security.symbol)
        .join(Security, Security.id == CorporateAction.security_id)
        .where(
            CorporateAction.status.in_((ANNOUNCED, PENDING_APPROVAL)),
            CorporateAction.applied_at.is_(None),
            CorporateAction.kind.not_in(CASH_ONLY),
            CorporateAction.ex_date <= as_of,
        )
        .order_by(CorporateAction.ex_date, CorporateAction.id)
    ).all()
    out: dict[int, list[PendingAction]] = {}
    for a, symbol in rows:
        out.setdefault(a.security_id, []).append(
            PendingAction(
                a.ref,
                display_kind(a.kind, a.ratio_new, a.ratio_old),
                str(symbol),
                a.security_id,
                a.ex_date,
                a.status,
            )
        )
    return out
