"""The state table of a compliance approval case (engine.compliance.approvals).

    (opened)          draft
    draft     --reopen-->  draft            submitted again before its check
    rejected  --reopen-->  draft            a rejected trade is submitted again
    draft     --checked--> checked          the rules ran; the case keeps their outcome
    checked   --pending--> pending_approval flag or block: a reviewer must decide
    released  --pending--> pending_approval its terms were loosened and the re-check flags them
    pending_approval --approve-->  approved    (four-eyes: never the trade's creator)
    pending_approval --override--> approved    a hard block, by the second distinct approver
    pending_approval --reject-->   rejected
    checked   --release--> released         clean (pass/warn): straight to trading
    approved  --release--> released

Audit actions keep their names: approval.open, approval.reopen, approval.checked, ...; the entity
is `approval:<order|proposal>` with the order's or proposal's id, before/after carry the state
and the case's outcome.
"""

from __future__ import annotations

from typing import Any

from engine.state.machine import AuditJournal, StateMachine, Transition

DRAFT, CHECKED, PENDING, APPROVED, REJECTED, RELEASED = (
    "draft", "checked", "pending_approval", "approved", "rejected", "released",
)  # fmt: skip


def _entity(case: Any, change: Transition) -> tuple[str, str]:
    return f"approval:{case.entity}", str(case.entity_id)


CASES = StateMachine(
    "approval",
    {
        (DRAFT, "reopen"): DRAFT,
        (REJECTED, "reopen"): DRAFT,
        (DRAFT, "checked"): CHECKED,
        (CHECKED, "pending"): PENDING,
        (RELEASED, "pending"): PENDING,
        (PENDING, "approve"): APPROVED,
        (PENDING, "override"): APPROVED,
        (PENDING, "reject"): REJECTED,
        (CHECKED, "release"): RELEASED,
        (APPROVED, "release"): RELEASED,
    },
    attr="state",
    journal=AuditJournal(key="state", entity=_entity, extra=lambda case: {"outcome": case.outcome}),
    initial=frozenset({DRAFT}),
)
