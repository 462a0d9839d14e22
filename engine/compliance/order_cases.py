"""Approval cases for orders, as the OMS needs them (engine.oms.controls.ApprovalCases).

A flagged order waits in pending_approval with a case in compliance's queue
(engine.compliance.approvals): reviewers decide it there (`compliance decide`) or through the
OMS (`OrderManager.approve`); either way four-eyes and the two-approver override apply, and the
OMS releases the order once its case is approved.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.compliance import approvals
from engine.compliance.tables import ApprovalCase


class OrderApprovalCases:
    """Opens, decides and reads the approval cases of orders."""

    def open(self, session: Session, order_ids: Sequence[int], username: str) -> None:
        approvals.submit_many(session, username, "order", order_ids)

    def decide(self, session: Session, order_id: int, username: str, reason_code: str, comment: str) -> bool:
        case = approvals.find_case(session, "order", order_id)
        if case is None:  # an order flagged before cases were opened for orders: open it now
            self.open(session, [order_id], username)
            case = approvals.find_case(session, "order", order_id)
        assert case is not None
        if case.state == approvals.PENDING:
            return approvals.decide(session, username, case.id, "approve", reason_code, comment).state in (
                approvals.APPROVED,
                approvals.RELEASED,
            )
        require(session, username, Permission.APPROVE)  # a case the re-check found clean
        return case.state in (approvals.CHECKED, approvals.APPROVED, approvals.RELEASED) and (
            case.outcome in ("pass", "warn") or case.state != approvals.CHECKED
        )

    def approved(self, session: Session, order_ids: Sequence[int]) -> set[int]:
        if not order_ids:
            return set()
        rows = session.scalars(
            select(ApprovalCase.entity_id).where(
                ApprovalCase.entity == "order",
                ApprovalCase.entity_id.in_([str(i) for i in order_ids]),
                ApprovalCase.state.in_((approvals.APPROVED, approvals.RELEASED)),
            )
        )
        return {int(r) for r in rows}

    def settle(self, session: Session, order_id: int, username: str) -> None:
        case = approvals.find_case(session, "order", order_id)
        if case is None or case.state != approvals.APPROVED:
            return
        if case.terms == approvals.terms_of(approvals.intents_for(session, "order", str(order_id))):
            approvals.release(session, username, case.id, "approved order released to trading")
