"""The OMS's re-check of a loosened cancel/replace (engine.oms.recheck.ReplaceRechecker), on compliance.

An order with an approval case goes through `check_routable` with its new terms: a loosened order
that no longer passes moves back to pending approval. An order the OMS released straight from the
pre-trade check (no case) is checked again with its new terms; flag or block holds it.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.compliance.approvals import check_routable, find_case
from engine.compliance.checker import ComplianceChecker
from engine.oms.recheck import RecheckVerdict
from engine.ports import OrderIntent, PreTradeChecker


class ComplianceReplaceCheck:
    """engine.oms.recheck.ReplaceRechecker backed by compliance's approvals and rules."""

    def __init__(self, checker: PreTradeChecker | None = None) -> None:
        self.checker = checker or ComplianceChecker()

    def __call__(
        self, session: Session, order_id: int, before: OrderIntent, after: OrderIntent, username: str
    ) -> RecheckVerdict:
        if find_case(session, "order", order_id) is not None:
            v = check_routable(session, username, order_id, [after])
            return RecheckVerdict(v.ok, v.reason)
        [outcome] = self.checker.check(session, [after], username)
        if outcome.outcome in ("pass", "warn"):
            return RecheckVerdict(True)
        why = " ".join(outcome.messages[:3]) or outcome.outcome
        return RecheckVerdict(False, f"{after.account} {after.symbol}: re-check {outcome.outcome}: {why}")
