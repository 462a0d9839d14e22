"""A PM's decisions on rebalance proposals from the desk: accept (and send to compliance), reject,
send to compliance again, release to trading (orders). All through the engine services
(`engine.rebalance.review`, `engine.compliance.approvals`, `engine.release.proposals`); accept,
reject and send decide several proposals in ONE transaction, so a refusal of any changes none."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.compliance import approvals
from engine.errors import WorkstationError
from engine.oms.service import OrderManager
from engine.rebalance import trade_edit
from engine.rebalance.review import review
from engine.release.proposals import ReleaseOutcome, release_proposals
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


def send_to_compliance(database: Database, username: str, proposal_ids: list[int]) -> list[str]:
    """Submit accepted proposals to the compliance check (again after a rejection), all or none;
    returns each case's state: checked (clean) or pending_approval."""
    with database.transaction() as s:
        out = []
        for pid in proposal_ids:
            try:
                out.append(str(approvals.submit(s, username, "proposal", pid).state))
            except WorkstationError as exc:
                raise _each(pid, exc) from None
        return out


def edit_trade(
    database: Database, username: str, proposal_id: int, symbol: str, quantity: float | None, remove: bool
) -> dict[str, Any]:
    """Change the quantity of a proposed trade or remove it; the proposal is re-checked exactly
    (engine.rebalance.trade_edit): {proposal, symbol, side, before, after, ok, violations, compliance}."""
    edit = trade_edit.TradeEdit(symbol, quantity, remove)
    out = trade_edit.edit_trade(database, username, proposal_id, edit, screen=compliance_screen)
    return {k: v for k, v in out.items() if k != "record"}


def compliance_screen(session: Session, proposal_id: int) -> dict[str, Any]:
    """The compliance rules in force run on a proposal's trades and FX legs as they are stored
    (nothing stored by this check): the worst outcome and the rules that did not pass, worst first."""
    from engine.compliance.checker import run_check

    intents = approvals.intents_for(session, "proposal", str(proposal_id))
    run = run_check(session, intents, fx_legs=approvals.fx_legs_for(session, "proposal", str(proposal_id)))
    rank = {"block": 0, "flag": 1, "warn": 2}
    worst: dict[str, str] = {}
    for i in range(len(intents)):
        for hit in run.results(i, hits_only=True):
            code, outcome = str(hit["rule"]), str(hit["outcome"])
            if code not in worst or rank.get(outcome, 9) < rank.get(worst[code], 9):
                worst[code] = outcome
    top = max((int(c) for c in run.order_codes), default=0)
    return {
        "outcome": ("pass", "warn", "flag", "block")[top],
        "rules": sorted(([c, o] for c, o in worst.items()), key=lambda kv: (rank.get(kv[1], 9), kv[0])),
    }


def release_to_orders(
    manager: OrderManager, username: str, proposal_ids: list[int], broker: str | None
) -> list[ReleaseOutcome]:
    """Release accepted proposals to trading: their trades become OMS orders (once) through the
    desk's OMS, so the blotter sees them. Each proposal on its own: a refusal (a PM and a flagged
    proposal) raises after the others were released, naming it (engine.release.proposals)."""
    return release_proposals(manager, username, proposal_ids, broker=broker)


def release_summary(outcomes: list[ReleaseOutcome]) -> str:
    """One line for the status bar: what the release made of each proposal."""
    orders = sum(len(o.order_ids) for o in outcomes if o.state == "released")
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.state] = counts.get(o.state, 0) + 1
    parts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(counts.items()))
    return f"Release to trading: {len(outcomes)} proposal(s) — {parts}; {orders} new order(s) in the blotter"
