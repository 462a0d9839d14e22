"""The OMS's re-check of a loosened cancel/replace (engine.oms.recheck.ReplaceRechecker), on compliance.

An order with an approval case goes through `check_routable` with its new terms: a loosened order
that no longer passes moves back to pending approval. An order the OMS released straight from the
pre-trade check (no case) is checked again with its new terms; if flag or block holds it, an
approval case is opened for the new terms (created by the user asking for the replace), so it
reaches the reviewers' queue. What happens when the replace is asked for again with those terms:

    case pending_approval  -> still held ("waits for approval")
    case approved          -> released by the asking user (orders.release[_flagged]) and sent
                              (the trader's release_now re-issues a held replace: no re-typing)
    case rejected          -> still held ("rejected"); other loosened terms open the case again
    case released          -> sent if unchanged, else re-checked (check_routable)
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from engine.compliance import approvals
from engine.compliance.checker import ComplianceChecker
from engine.compliance.tables import ApprovalCase
from engine.oms.recheck import RecheckVerdict
from engine.oms.tables import Order
from engine.ports import OrderIntent, PreTradeChecker


class ComplianceReplaceCheck:
    """engine.oms.recheck.ReplaceRechecker backed by compliance's approvals and rules."""

    def __init__(self, checker: PreTradeChecker | None = None) -> None:
        self.checker = checker or ComplianceChecker()

    def __call__(
        self, session: Session, order_id: int, before: OrderIntent, after: OrderIntent, username: str
    ) -> RecheckVerdict:
        case = approvals.find_case(session, "order", order_id)
        if case is None:
            [outcome] = self.checker.check(session, [after], username)
            if outcome.outcome in ("pass", "warn"):
                return RecheckVerdict(True)
            why = " ".join(outcome.messages[:3]) or outcome.outcome
            return self._open(session, order_id, after, username, f"re-check {outcome.outcome}: {why}")
        same = case.terms == approvals.terms_of([after])
        if case.state == approvals.PENDING and same:
            return RecheckVerdict(False, f"{self._name(after)}: replace waits for approval (case {case.id})")
        if case.state == approvals.REJECTED:
            if same:
                return RecheckVerdict(
                    False, f"{self._name(after)}: replace rejected by compliance (case {case.id})"
                )
            return self._open(session, order_id, after, username, "new terms after a rejection")
        if case.state == approvals.APPROVED and same:
            approvals.release(session, username, case.id, "approved replace sent")
        v = approvals.check_routable(session, username, order_id, [after])
        return RecheckVerdict(v.ok, v.reason)

    @staticmethod
    def _name(o: OrderIntent) -> str:
        return f"{o.account} {o.symbol}"

    def _open(
        self, session: Session, order_id: int, after: OrderIntent, username: str, why: str
    ) -> RecheckVerdict:
        """Queue the new terms for a reviewer: a case created by the user who asked for the replace."""
        case = approvals.submit(session, username, "order", order_id, [after], created_by=username)
        if case.state == approvals.CHECKED:  # the case's own check passed (rules changed meanwhile)
            approvals.release(session, username, case.id, "replace passed its check")
            return RecheckVerdict(True)
        return RecheckVerdict(
            False, f"{self._name(after)}: {why} (approval case {case.id} opened for the new terms)"
        )


@dataclass(frozen=True)
class ApprovedReplace:
    """A held replace compliance has approved: the order and the terms to send (for the OMS or UI)."""

    order_id: int
    case_id: int
    quantity: Decimal
    limit_price: Decimal | None


def approved_replaces(session: Session) -> list[ApprovedReplace]:
    """Orders whose approval case is approved for terms other than the order's current ones.

    These are held replaces waiting to be sent: the trader's release (OrderManager.release_now,
    Ctrl+L) asks for the held replace again and this check releases the case and lets it route.
    """
    q = (
        select(ApprovalCase, Order.quantity, Order.limit_price)
        .join(Order, cast(Order.id, String) == ApprovalCase.entity_id)
        .where(ApprovalCase.entity == "order", ApprovalCase.state == approvals.APPROVED)
        .order_by(ApprovalCase.id)
    )
    out = []
    for case, qty, px in session.execute(q):
        if len(case.terms or []) != 1:
            continue
        t = case.terms[0]
        new_qty = Decimal(t["quantity"])
        new_px = None if t["limit_price"] is None else Decimal(t["limit_price"])
        if new_qty != qty or new_px != (None if px is None else Decimal(px)):
            out.append(ApprovedReplace(int(case.entity_id), case.id, new_qty, new_px))
    return out
