"""The day cycle's corporate-action step: book every stored action due on or before the date that
is not booked yet (engine.corporate.book.book_due: on its ex date, exactly once, each in its own
savepoint), and report as exceptions the ones that could not be booked and the manual entries due
but still waiting for their second approver (the accounts holding them stay out of rebalancing)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from engine.corporate.book import book_due as book_corporate_due


def book_due(session: Session, as_of: date, username: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(counts, exceptions) of booking the actions due by `as_of` as `username`."""
    done = book_corporate_due(session, as_of, username=username)
    exceptions: list[dict[str, Any]] = [
        {"kind": "corporate_action_not_booked", "ref": ref, "reason": why} for ref, why in done.failed
    ]
    exceptions += [
        {"kind": "corporate_action_awaiting_approval", "ref": ref,
         "reason": "entered by hand and due, but not approved by a second person yet"}
        for ref in done.awaiting_approval
    ]  # fmt: skip
    counts = {
        "booked": len(done.booked),
        "failed": len(done.failed),
        "awaiting_approval": len(done.awaiting_approval),
        "accounts": sum(o.accounts for o in done.booked),
        "booked_refs": [o.ref for o in done.booked],
    }
    return counts, exceptions
