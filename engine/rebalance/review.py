"""A PM's review of rebalance proposals: accept (it goes on to compliance) or reject with a reason.

    ok -> accepted | rejected;  rejected -> accepted (changed mind);  accepted -> rejected
    accepted -> released (its trades became OMS orders: engine.rebalance.release; final here)
Only proposals a solve produced (`ok`) can be reviewed; infeasible or failed ones carry no trades.
Every decision is audited (`proposal.accept` / `proposal.reject`) in the caller's transaction.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.audit.chain import record
from engine.errors import InvalidTransition, NotFound, WorkstationError
from engine.shared.concurrency import flush_or_conflict
from engine.store.trading import Proposal

ACCEPTED, REJECTED, RELEASED = "accepted", "rejected", "released"
DECISIONS = {"accept": ACCEPTED, "reject": REJECTED}
_FROM = {ACCEPTED: ("ok", REJECTED), REJECTED: ("ok", ACCEPTED)}


def review(session: Session, username: str, proposal_id: int, decision: str, reason: str = "") -> str:
    """Accept or reject one proposal as `username` (needs rebalance.run); returns its new status."""
    require(session, username, Permission.REBALANCE_RUN)
    if decision not in DECISIONS:
        raise WorkstationError(f"proposal {proposal_id}: decision must be accept or reject, not {decision!r}")
    p = session.get(Proposal, proposal_id)
    if p is None:
        raise NotFound(f"proposal {proposal_id} does not exist")
    to = DECISIONS[decision]
    if p.status not in _FROM[to]:
        raise InvalidTransition(f"proposal {proposal_id}", p.status, decision)
    if to == REJECTED and not reason.strip():
        raise WorkstationError(f"proposal {proposal_id}: a rejection needs a reason")
    before = {"status": p.status}
    p.status = to
    flush_or_conflict(session)  # another desk decided it meanwhile: ConcurrentChange, nothing kept
    record(
        session, username, f"proposal.{decision}", "proposal", p.id, before, {"status": to}, reason or None
    )
    return to
