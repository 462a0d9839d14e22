"""Book the stored corporate actions due on or before a date that are not booked yet.

Today engine.accounting.corporate applies an action the moment it is entered (stored and booked
in one step), so a stored action never waits: this counts what is due and unbooked (none) and
reports any it finds as an exception. `engine.corporate.book.book_due(session, as_of,
username=...)` replaces the body of `book_due` when corporate actions become data with their
own dates; the day cycle calls only this function.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting.tables import CorporateAction
from engine.store.reference import Security


def book_due(session: Session, as_of: date, username: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(counts, exceptions) of booking the actions due by `as_of` as `username`."""
    waiting = session.execute(
        select(CorporateAction.ref, CorporateAction.kind, CorporateAction.ex_date, Security.symbol)
        .join(Security, Security.id == CorporateAction.security_id)
        .where(CorporateAction.applied_at.is_(None), CorporateAction.ex_date <= as_of)
        .order_by(CorporateAction.ex_date, CorporateAction.ref)
    ).all()
    exceptions = [
        {"kind": "corporate_action_unbooked", "ref": ref, "action": kind, "ex_date": ex.isoformat(),
         "symbol": sym, "reason": "stored but not booked; this book books actions when they are entered"}
        for ref, kind, ex, sym in waiting
    ]  # fmt: skip
    return {"due": len(waiting), "booked": 0}, exceptions
