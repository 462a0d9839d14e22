"""Release accepted rebalance proposals to trading: their trades become OMS orders, exactly once.

    proposal accepted --(case checked clean, or approved, or already released)--> released + orders

Who may do it (engine.access.permissions; every refusal is audited by `require`):
- a proposal whose compliance check was clean (pass/warn): anyone with orders.release and
  orders.create (a PM or a trader);
- a proposal compliance had to approve (flag, or a hard block overridden): also
  orders.release_flagged, which a PM lacks (issue #5): a trader releases it;
- compliance approves but never creates orders (no orders.create).

Exactly once: the proposal's move accepted -> released, the approval case's move to released and
the orders are written in ONE transaction (the OMS's `create`): the claim is made inside it by
`ReleaseGate`, the pre-trade checker this module hands the OMS for these orders. A second release
finds the proposal released (or its orders) and creates nothing; two desks racing on PostgreSQL
both update the versioned proposal/case rows, the loser's UPDATE matches no row
(flush_or_conflict -> ConcurrentChange), its transaction rolls back with its orders, and it
reports the winner's orders.

What compliance approved is not asked again. The orders are checked by every rule in force, with
the proposal's FX legs, like any order; a rule hit is waived when compliance already approved the
same rule (code and version) at the same or a worse outcome on the proposal's case for that
trade AND the order's terms equal the terms the case checked. Any other hit (a new rule, a new
version, a worse outcome, changed terms, or a clean proposal that no longer passes) stands, and
the OMS holds that order for approval or rejects it on a block. FX spot orders carry the
proposal's verdict: their cash legs were checked with the proposal (they are not securities).
They go to `fx_broker`, or to the securities `broker` when none is named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.audit.chain import record
from engine.compliance import approvals
from engine.compliance.checker import OUTCOMES, run_check
from engine.compliance.tables import CheckResult
from engine.errors import ComplianceBlocked, InvalidTransition, NotFound, WorkstationError
from engine.oms.fx import ensure_fx_instruments
from engine.oms.service import OrderManager
from engine.oms.tables import Order
from engine.ports import CheckOutcome, OrderIntent
from engine.rebalance.review import ACCEPTED, RELEASED
from engine.rebalance.tables import Proposal
from engine.release.orders import ProposalOrders, proposal_orders
from engine.shared.errors import ConcurrentChange
from engine.state.proposals import PROPOSALS
from engine.store.accounts import Account

FLAGGED = ("flag", "block")


class AlreadyReleased(WorkstationError):
    """The proposal's orders exist already (another release, or another desk, made them)."""


@dataclass
class ReleaseOutcome:
    """What releasing one proposal did: `state` is released, already_released or pending_approval."""

    proposal_id: int
    account: str
    state: str
    order_ids: list[int] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "proposal": self.proposal_id,
            "account": self.account,
            "state": self.state,
            "orders": self.order_ids,
            "statuses": self.statuses,
            "message": self.message,
        }


def _read_proposal(session: Session, proposal_id: int) -> Proposal:
    """The proposal as this transaction sees it (a seam the race test slows down)."""
    p = session.get(Proposal, proposal_id)
    if p is None:
        raise NotFound(f"proposal {proposal_id} does not exist")
    return p


def orders_of(session: Session, proposal_id: int) -> list[int]:
    """Ids of the account orders made from a proposal (empty before its release)."""
    return list(
        session.scalars(
            select(Order.id)
            .where(Order.proposal_id == proposal_id, Order.account_id.is_not(None))
            .order_by(Order.id)
        )
    )


def _statuses(session: Session, ids: Sequence[int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for st in session.scalars(select(Order.status).where(Order.id.in_(ids))):
        out[st] = out.get(st, 0) + 1
    return dict(sorted(out.items()))


def _plain(terms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in t.items() if k != "ref"} for t in terms]


class ReleaseGate:
    """The OMS's pre-trade checker for one proposal's orders: claims the proposal (exactly once,
    inside the OMS's create transaction) and carries over what compliance approved on it."""

    def __init__(self, proposal_id: int, n_trades: int, clock: Any, reason: str = "") -> None:
        self.proposal_id = proposal_id
        self.n_trades = n_trades
        self.clock = clock
        self.reason = reason

    def check(self, session: Session, orders: Sequence[OrderIntent], username: str) -> list[CheckOutcome]:
        pid = self.proposal_id
        p = _read_proposal(session, pid)
        if p.status == RELEASED or orders_of(session, pid):
            raise AlreadyReleased(f"proposal {pid} was already released to orders")
        if p.status != ACCEPTED:
            raise InvalidTransition(f"proposal {pid}", p.status, "release")
        case = approvals.find_case(session, "proposal", pid)
        if case is None:
            raise ComplianceBlocked(f"proposal {pid} was never checked by compliance")
        if case.state in (approvals.CHECKED, approvals.APPROVED):
            approvals.release(session, username, case.id, self.reason or "released to orders")
        elif case.state != approvals.RELEASED:
            raise ComplianceBlocked(f"proposal {pid} is {case.state} at compliance, not releasable")
        out = self._verdicts(session, case, list(orders), username)
        counts = {o: sum(1 for v in out if v.outcome == o) for o in OUTCOMES}
        # accepted -> released and its audit entry; another desk released it first: ConcurrentChange.
        PROPOSALS.fire(session, p, "release", actor=username, reason=self.reason or None,
                       detail={"case": case.id, "orders": len(out), "outcomes": counts})  # fmt: skip
        return out

    def _verdicts(
        self, session: Session, case: Any, intents: list[OrderIntent], username: str
    ) -> list[CheckOutcome]:
        pid = self.proposal_id
        trades, fx = intents[: self.n_trades], intents[self.n_trades :]
        out: list[CheckOutcome] = []
        if trades:
            run = run_check(
                session,
                trades,
                now=self.clock.now(),
                fx_legs=approvals.fx_legs_for(session, "proposal", str(pid)),
            )
            run.persist(session, username, "order", [o.ref or None for o in trades])
            same = _plain(case.terms) == _plain(approvals.terms_of(trades))
            approved = self._approved(session, case) if same else {}
            for i, o in enumerate(trades):
                ok = approved.get((o.symbol, str(o.side).lower()), {})
                worst, msgs, waived = 0, [], []
                for res in run.results(i, hits_only=True):
                    rank = OUTCOMES.index(res["outcome"])
                    if ok.get((res["rule"], res["version"]), -1) >= rank:
                        waived.append(res["rule"])
                        continue
                    worst = max(worst, rank)
                    msgs.append(f"[{res['rule']} {res['outcome']}] {res['message']}")
                if waived:
                    msgs.append(f"approved on proposal {pid} (case {case.id}): {', '.join(waived)}")
                out.append(CheckOutcome(o.ref, OUTCOMES[worst], tuple(msgs)))
        for o in fx:
            out.append(
                CheckOutcome(o.ref, "pass", (f"FX funding checked with proposal {pid} (case {case.id})",))
            )
        record(session, username, "compliance.check", "check_run", f"proposal:{pid}",
               after={"orders": len(out), "outcomes": [v.outcome for v in out][:50],
                      "carried_from_case": case.id})  # fmt: skip
        return out

    @staticmethod
    def _approved(session: Session, case: Any) -> dict[tuple[str, str], dict[tuple[str, int], int]]:
        """Per trade (symbol, side): the rule hits compliance decided on, with their outcome rank.
        Only an approved (or released after approval) case counts; a clean one approved nothing."""
        if case.outcome not in FLAGGED:
            return {}
        rows = session.execute(
            select(CheckResult.symbol, CheckResult.side, CheckResult.rule_code, CheckResult.rule_version,
                   CheckResult.outcome)
            .where(CheckResult.run_id == case.run_id, CheckResult.entity == "proposal",
                   CheckResult.entity_id == case.entity_id)
        ).all()  # fmt: skip
        out: dict[tuple[str, str], dict[tuple[str, int], int]] = {}
        for sym, side, rule, version, outcome in rows:
            if outcome in OUTCOMES and outcome != "pass":
                key = (str(sym), str(side).lower())
                rk = (str(rule), int(version))
                out.setdefault(key, {})[rk] = max(out.get(key, {}).get(rk, -1), OUTCOMES.index(outcome))
        return out


def _gated(manager: OrderManager, gate: ReleaseGate) -> OrderManager:
    """The same OMS (database, FIX gateway, event bus, clock, every control) with `gate` as checker."""
    return manager.with_checker(gate)


def _prepare(manager: OrderManager, username: str, pid: int) -> tuple[ReleaseOutcome | None, str | None]:
    """Before the write: is there anything to do, and may `username` do it? Submits a proposal
    never sent to compliance. Returns (a finished outcome, or None to go on; the case outcome)."""
    db = manager.database
    with db.session() as s:
        p = _read_proposal(s, pid)
        code = s.execute(select(Account.code).where(Account.id == p.account_id)).scalar_one()
        done = orders_of(s, pid)
        if p.status == RELEASED or done:
            return ReleaseOutcome(pid, code, "already_released", done, _statuses(s, done),
                                  "already released to orders"), None  # fmt: skip
        if p.status != ACCEPTED:
            raise InvalidTransition(f"proposal {pid}", p.status, "release (accept it first)")
        case = approvals.find_case(s, "proposal", pid)
        state = None if case is None else case.state
    if state in (None, approvals.DRAFT):
        with db.transaction() as s:
            state = approvals.submit(s, username, "proposal", pid).state
    with db.session() as s:
        case = approvals.find_case(s, "proposal", pid)
        assert case is not None
        if case.state == approvals.PENDING:
            return ReleaseOutcome(pid, code, "pending_approval", message=
                                  f"waits for compliance approval (case {case.id})"), None  # fmt: skip
        if case.state == approvals.REJECTED:
            raise ComplianceBlocked(f"proposal {pid} was rejected by compliance (case {case.id})")
        for perm in (Permission.RELEASE, Permission.ORDERS_CREATE, Permission.CHECK_RUN):
            require(s, username, perm)
        if case.outcome in FLAGGED or case.state == approvals.APPROVED:
            require(s, username, Permission.RELEASE_FLAGGED)  # a PM may not release a flagged trade
        return None, case.outcome


def release_proposal(
    manager: OrderManager,
    username: str,
    proposal_id: int,
    *,
    broker: str | None = None,
    fx_broker: str | None = None,
    reason: str = "",
) -> ReleaseOutcome:
    """Release one accepted proposal to trading as `username`: its orders, once (see the module)."""
    pid = int(proposal_id)
    finished, _ = _prepare(manager, username, pid)
    if finished is not None:
        return finished
    with manager.database.session() as s:
        drafts: ProposalOrders = proposal_orders(s, _read_proposal(s, pid), broker, fx_broker)
    if not drafts.drafts:
        raise WorkstationError(f"proposal {pid} has no trades to release")
    ensure_fx_instruments(manager.database, {(d.symbol[:3], d.symbol[3:]) for d in drafts.fx})
    gate = ReleaseGate(pid, len(drafts.trades), manager.clock, reason)
    try:
        ids = _gated(manager, gate).create(drafts.drafts, username)
        state, message = "released", ""
    except (AlreadyReleased, ConcurrentChange) as exc:
        with manager.database.session() as s:
            ids = orders_of(s, pid)
        if not ids:
            raise
        state, message = "already_released", str(exc)
    with manager.database.session() as s:
        return ReleaseOutcome(pid, drafts.account, state, ids, _statuses(s, ids), message)


def release_proposals(
    manager: OrderManager,
    username: str,
    proposal_ids: Sequence[int],
    *,
    broker: str | None = None,
    fx_broker: str | None = None,
    reason: str = "",
) -> list[ReleaseOutcome]:
    """Release each proposal in its own transaction (one refusal leaves the others released);
    the first error is raised after the rest were tried, with what was done attached."""
    out: list[ReleaseOutcome] = []
    errors: list[tuple[int, WorkstationError]] = []
    for pid in proposal_ids:
        try:
            out.append(release_proposal(manager, username, pid, broker=broker, fx_broker=fx_broker,
                                        reason=reason))  # fmt: skip
        except WorkstationError as exc:
            errors.append((int(pid), exc))
    if errors:
        raise ReleaseErrors(out, errors)
    return out


class ReleaseErrors(WorkstationError):
    """Some proposals could not be released; `done` holds those that were."""

    def __init__(self, done: list[ReleaseOutcome], errors: list[tuple[int, WorkstationError]]) -> None:
        self.done = done
        self.errors = errors
        lines = [f"proposal {pid}: {e}" if f"proposal {pid}" not in str(e) else str(e) for pid, e in errors]
        super().__init__("; ".join(lines))


def releasable(session: Session, batch_id: str) -> list[int]:
    """The accepted (not yet released) proposals of a bulk run, by id."""
    return list(
        session.scalars(
            select(Proposal.id)
            .where(Proposal.batch_id == batch_id, Proposal.status == ACCEPTED)
            .order_by(Proposal.id)
        )
    )
