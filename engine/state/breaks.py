"""The state tables of a reconciliation break and of a book adjustment (engine.reconcile).

Break:
    (found by a run)  open | explained      explained: the difference has a known cause (timing)
    open          --investigate--> investigating
    investigating --reopen-->      open
    resolved      --reopen-->      open     (also clears the resolution)
    explained     --reopen-->      open
    open | investigating | explained --resolve--> resolved   custodian_error or timing (a person),
                                                            book_adjustment (an approved adjustment)
    open | investigating | explained --clear-->   resolved   a run no longer finds it
    resolved      --reappear-->    open | explained          a later run finds it again

Adjustment:
    (proposed by one user)  proposed
    proposed --approve--> booked            by a different user with reconcile.approve
    proposed --reject-->  rejected

Audit actions keep their names: reconcile.break.status (investigate, reopen),
reconcile.break.resolve; new ones are reconcile.break.open, .clear and .reappear (written by the
run) and reconcile.adjustment.propose/approve/reject. Break entries carry status, owner and
resolution before and after.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.state.machine import AuditJournal, Computed, StateMachine, Transition

OPEN, INVESTIGATING, RESOLVED, EXPLAINED = "open", "investigating", "resolved", "explained"
PROPOSED, BOOKED, REJECTED = "proposed", "booked", "rejected"
_STATUS_EVENTS = {"investigate", "reopen"}


def _break_action(change: Transition) -> str:
    event = "status" if change.event in _STATUS_EVENTS else change.event
    return f"reconcile.break.{event}"


def _break_fields(b: Any) -> Mapping[str, Any]:
    return {"owner": b.owner, "resolution": b.resolution}


def _found(b: Any, facts: Mapping[str, Any]) -> str:
    return EXPLAINED if facts.get("explained") else OPEN


BREAKS = StateMachine(
    "reconcile.break",
    {
        (OPEN, "investigate"): INVESTIGATING,
        (INVESTIGATING, "reopen"): OPEN,
        (RESOLVED, "reopen"): OPEN,
        (EXPLAINED, "reopen"): OPEN,
        (OPEN, "resolve"): RESOLVED,
        (INVESTIGATING, "resolve"): RESOLVED,
        (EXPLAINED, "resolve"): RESOLVED,
        (OPEN, "clear"): RESOLVED,
        (INVESTIGATING, "clear"): RESOLVED,
        (EXPLAINED, "clear"): RESOLVED,
        (RESOLVED, "reappear"): Computed("found again: open, or explained", _found),
    },
    journal=AuditJournal(
        entity=lambda b, change: ("recon_break", change.entity_id), action=_break_action, extra=_break_fields
    ),
    initial=frozenset({OPEN, EXPLAINED}),
)

ADJUSTMENTS = StateMachine(
    "reconcile.adjustment",
    {(PROPOSED, "approve"): BOOKED, (PROPOSED, "reject"): REJECTED},
    journal=AuditJournal(entity=lambda adj, change: ("recon_adjustment", change.entity_id)),
    initial=frozenset({PROPOSED}),
)
