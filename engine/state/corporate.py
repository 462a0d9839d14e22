"""The state table of a corporate action (engine.corporate, column corporate_actions.status).

    (loaded from a vendor's file)      announced
    (entered by hand, one user)        pending_approval
    pending_approval --approve--> announced   a different user with bookings.approve
    pending_approval --reject-->  rejected    a different user, with a reason
    announced        --book-->    booked      book_due on its booking date (exactly once)
    announced        --cancel-->  cancelled   withdrawn by the issuer before it was booked
    (booked by the accounting primitive at once)  booked   (event `apply`: demo and tests)

Audit actions `corporate_action.<event>` on entity `corporate_action` with the action's id; before
and after carry the status, the reference and who decided it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.state.machine import AuditJournal, StateMachine

PENDING_APPROVAL, ANNOUNCED, BOOKED, REJECTED, CANCELLED = (
    "pending_approval",
    "announced",
    "booked",
    "rejected",
    "cancelled",
)


def _fields(a: Any) -> Mapping[str, Any]:
    return {"ref": a.ref, "kind": a.kind, "decided_by": a.decided_by}


CORPORATE_ACTIONS = StateMachine(
    "corporate_action",
    {
        (PENDING_APPROVAL, "approve"): ANNOUNCED,
        (PENDING_APPROVAL, "reject"): REJECTED,
        (ANNOUNCED, "book"): BOOKED,
        (ANNOUNCED, "cancel"): CANCELLED,
    },
    journal=AuditJournal(extra=_fields),
    initial=frozenset({PENDING_APPROVAL, ANNOUNCED, BOOKED}),
)
