"""A PM's decisions on rebalance proposals from the desk: accept (and send to compliance), reject,
release to trading. All through the engine services (`engine.rebalance.review`,
`engine.compliance.approvals`); several proposals are decided in ONE transaction, so a refusal of
any of them changes none."""

from __future__ import annotations

from engine.compliance import approvals
from engine.errors import WorkstationError
from engine.rebalance.review import review
from engine.store.database import Database


def _each(pid: int, exc: WorkstationError) -> WorkstationError:
    return WorkstationError(f"proposal {pid}: {exc}") if f"proposal {pid}" not in str(exc) else exc


def accept(database: Database, username: str, proposal_ids: list[int]) -> list[str]:
    """Accept each proposal and submit it to the compliance check; returns each case's state."""
    states = []
    with database.transaction() as s:
        for pid in proposal_ids:
            try:
                review(s, username, pid, "accept")
                states.append(str(approvals.submit(s, username, "proposal", pid).state))
            except WorkstationError as exc:
                raise _each(pid, exc) from None
    return states


def reject(database: Database, username: str, proposal_ids: list[int], reason: str) -> list[str]:
    """Reject each proposal with the reason (audited); returns the new statuses."""
    with database.transaction() as s:
        out = []
        for pid in proposal_ids:
            try:
                out.append(review(s, username, pid, "reject", reason))
            except WorkstationError as exc:
                raise _each(pid, exc) from None
        return out


def release(database: Database, username: str, proposal_ids: list[int]) -> list[str]:
    """Release checked-clean (or approved) proposals to trading through the approval workflow."""
    with database.transaction() as s:
        out = []
        for pid in proposal_ids:
            case = approvals.find_case(s, "proposal", pid)
            if case is None:
                raise WorkstationError(f"proposal {pid}: not sent to compliance yet (accept it first)")
            try:
                out.append(str(approvals.release(s, username, case.id).state))
            except WorkstationError as exc:
                raise _each(pid, exc) from None
        return out
