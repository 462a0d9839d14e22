"""`book_due`: book every corporate action whose booking date has come, exactly once.

The day cycle calls it for its date; `workstation corporate book --as-of D` runs it by hand. It
needs day.close (booking actions is a step of the day's close). Each action is booked in its own
savepoint and moved `announced -> booked` through engine.state (audited, with what it did), so a
second call finds nothing left to book, and two desks racing for one action meet the row's
version check (ConcurrentChange) instead of booking it twice. An action that cannot be booked
(no FX rate, a clash) is reported with its reason and stays announced, still suspending its
holders from rebalancing; the others are booked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.accounting.tables import CorporateAction
from engine.corporate.apply import Outcome, book_action
from engine.corporate.terms import booking_date, booking_order
from engine.errors import WorkstationError
from engine.state.corporate import ANNOUNCED, CORPORATE_ACTIONS, PENDING_APPROVAL
from engine.store.base import utcnow


@dataclass
class DueResult:
    """What `book_due` did on `as_of`: actions booked, actions refused (ref, reason) and due actions
    still waiting for their second approver."""

    as_of: date
    booked: list[Outcome] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    awaiting_approval: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "booked": [o.as_dict() for o in self.booked],
            "failed": [{"ref": r, "reason": why} for r, why in self.failed],
            "awaiting_approval": list(self.awaiting_approval),
        }


def due_actions(session: Session, as_of: date, status: str = ANNOUNCED) -> list[CorporateAction]:
    """Unbooked actions in `status` whose booking date is on or before `as_of`, oldest first."""
    rows = session.scalars(
        select(CorporateAction)
        .where(
            CorporateAction.status == status,
            CorporateAction.applied_at.is_(None),
            CorporateAction.ex_date <= as_of,
        )
        .order_by(CorporateAction.ex_date, CorporateAction.id)
    ).all()
    due = [a for a in rows if booking_date(a.kind, a.ex_date, a.pay_date) <= as_of]
    return sorted(due, key=lambda a: booking_order(a.kind, a.ex_date, a.id))


def book_due(session: Session, as_of: date, *, username: str) -> DueResult:
    """Book every announced action due on or before `as_of` that is not booked yet (see module)."""
    require(session, username, Permission.DAY_CLOSE)
    result = DueResult(as_of)
    for action in due_actions(session, as_of):
        try:
            with session.begin_nested():
                out = book_action(session, action)
                action.applied_at = utcnow()
                CORPORATE_ACTIONS.fire(session, action, "book", actor=username, detail=out.as_dict())
        except WorkstationError as exc:
            result.failed.append((action.ref, str(exc)))
            continue
        result.booked.append(out)
    result.awaiting_approval = [a.ref for a in due_actions(session, as_of, PENDING_APPROVAL)]
    return result
