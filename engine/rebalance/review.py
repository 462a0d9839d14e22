"""A PM's review of rebalance proposals: accept (it goes on to compliance) or reject with a reason.

    ok -> accepted | rejected;  rejected -> accepted (changed mind);  accepted -> rejected
    accepted -> released (its trades became OMS orders: engine.release.proposals; final here)
Only proposals a solve produced (`ok`) can be reviewed; infeasible or failed ones carry no trades.
An edited proposal whose exact re-check failed is not accepted (engine.rebalance.trade_edit).
A proposal over a limit is accepted only after a PM's sign-off (engine.rebalance.exceptions.gate).
Every decision is audited (`proposal.accept` / `proposal.reject`) in the caller's transaction by
the proposal's state machine (engine.state.proposals), the only writer of a proposal's status.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.errors import NotFound, WorkstationError
from engine.rebalance.exceptions import gate
from engine.rebalance.tables import Proposal
from engine.state.proposals import ACCEPTED, PROPOSALS, REJECTED, RELEASED

__all__ = ["ACCEPTED", "DECISIONS", "REJECTED", "RELEASED", "review"]
DECISIONS = {"accept": ACCEPTED, "reject": REJECTED}


def review(session: Session, username: str, proposal_id: int, decision: str, reason: str = "") -> str:
    """Accept or reject one proposal as `username` (needs rebalance.run); returns its new status."""
    require(session, username, Permission.REBALANCE_RUN)
    if decision not in DECISIONS:
        raise WorkstationError(f"proposal {proposal_id}: decision must be accept or reject, not {decision!r}")
    p = session.get(Proposal, proposal_id)
    if p is None:
        raise NotFound(f"proposal {proposal_id} does not exist")
    PROPOSALS.next(p.status, decision, p)  # InvalidTransition before asking for a reason
    if DECISIONS[decision] == REJECTED and not reason.strip():
        raise WorkstationError(f"proposal {proposal_id}: a rejection needs a reason")
    if DECISIONS[decision] == ACCEPTED:
        recheck = (p.payload or {}).get("recheck") or {}
        if recheck.get("ok") is False:  # an edited proposal whose exact re-check failed (trade_edit)
            why = "; ".join(recheck.get("violations") or []) or "the re-check failed"
            raise WorkstationError(f"proposal {proposal_id}: edited trades do not pass the re-check ({why})")
        gate(session, p)  # over a limit: a PM's sign-off in the exception queue first
    # Another desk decided it meanwhile: ConcurrentChange, nothing kept (fire flushes first).
    return PROPOSALS.fire(session, p, decision, actor=username, reason=reason or None)
