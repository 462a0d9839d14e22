"""The approval workflow for orders and proposals, with four-eyes and two-approver overrides.

    draft -> checked -> (pass/warn) released
                     -> (flag/block) pending_approval -> approved -> released
                                                      -> rejected
A released order whose terms are later loosened (quantity up, limit looser, side or security
changed) is checked again before it may route: `assert_routable` does that and also consults
the kill switch. The case's state machine (engine.state.cases) is the only writer of its state
and audits every transition with the state before and after in the same transaction.

Segregation of duties: nobody approves their own trade; approving needs approvals.decide
(compliance); overriding a hard block needs two distinct compliance approvers, neither of whom
created the trade; releasing a flagged trade needs orders.release_flagged (a PM lacks it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.errors import SegregationOfDuties
from engine.access.guard import require
from engine.access.permissions import Permission
from engine.audit.chain import record, record_separately
from engine.compliance.checker import CheckBasis, CheckRun, check_basis, run_check
from engine.compliance.killswitch import describe as describe_switch
from engine.compliance.killswitch import stopping
from engine.compliance.projection import FxLeg, fx_legs_from_trades
from engine.compliance.tables import ApprovalCase, ApprovalDecision, CheckResult
from engine.errors import ComplianceBlocked, InvalidTransition, NotFound, WorkstationError
from engine.oms.tables import Order
from engine.ports import OrderIntent
from engine.rebalance.tables import Proposal
from engine.state.cases import (  # the case statuses are part of this module's interface
    APPROVED as APPROVED,
)
from engine.state.cases import (
    CASES,
)
from engine.state.cases import (
    CHECKED as CHECKED,
)
from engine.state.cases import (
    DRAFT as DRAFT,
)
from engine.state.cases import (
    PENDING as PENDING,
)
from engine.state.cases import (
    REJECTED as REJECTED,
)
from engine.state.cases import (
    RELEASED as RELEASED,
)
from engine.store.accounts import Account
from engine.store.reference import Security

ENTITIES = ("order", "proposal")
REASON_CODES = (
    "within_tolerance",
    "client_instruction",
    "risk_accepted",
    "data_error",
    "policy_breach",
    "duplicate",
    "other",
)


@dataclass(frozen=True)
class CaseView:
    """A case as callers see it, with what the last check said."""

    id: int
    entity: str
    entity_id: str
    state: str
    outcome: str | None
    hard_block: bool
    created_by: str
    approvals: int

    @classmethod
    def of(cls, case: ApprovalCase, approvals: int = 0) -> CaseView:
        return cls(case.id, case.entity, case.entity_id, case.state, case.outcome, case.hard_block,
                   case.created_by, approvals)  # fmt: skip


def _dec(value: object) -> str:
    """A decimal as plain text without trailing zeros (10.000000 -> 10)."""
    return format(Decimal(str(value)).normalize(), "f")


def _terms(intents: Sequence[OrderIntent]) -> list[dict[str, Any]]:
    return [
        {
            "account": o.account,
            "symbol": o.symbol,
            "side": str(o.side).lower(),
            "quantity": _dec(o.quantity),
            "order_type": str(o.order_type).lower(),
            "limit_price": None if o.limit_price is None else _dec(o.limit_price),
            "ref": o.ref,
        }
        for o in intents
    ]


def terms_of(intents: Sequence[OrderIntent]) -> list[dict[str, Any]]:
    """Orders as a case stores them (to compare new terms with the case's)."""
    return _terms(intents)


def intents_for(session: Session, entity: str, entity_id: str) -> list[OrderIntent]:
    """The orders a case is about, read from the order row or the proposal's trades."""
    if entity == "order":
        row = session.execute(
            select(Order, Account.code, Security.symbol)
            .join(Account, Account.id == Order.account_id)
            .join(Security, Security.id == Order.security_id)
            .where(Order.id == int(entity_id))
        ).first()
        if row is None:
            raise NotFound(f"order {entity_id} does not exist (or is a block without an account)")
        o, code, sym = row
        return [OrderIntent(code, sym, o.side, o.quantity, o.order_type, o.limit_price, ref=str(o.id))]
    if entity == "proposal":
        p = session.get(Proposal, int(entity_id))
        if p is None:
            raise NotFound(f"proposal {entity_id} does not exist")
        code = session.execute(select(Account.code).where(Account.id == p.account_id)).scalar_one()
        trades = (p.payload or {}).get("trades") or []
        out = []
        for k, t in enumerate(trades):
            try:
                out.append(
                    OrderIntent(
                        code, str(t["symbol"]), str(t["side"]), Decimal(str(t["quantity"])),
                        str(t.get("order_type", "market")),
                        None if t.get("limit_price") in (None, "") else Decimal(str(t["limit_price"])),
                        ref=f"{entity_id}:{k}",
                    )
                )  # fmt: skip
            except (KeyError, ArithmeticError, ValueError) as exc:
                raise WorkstationError(f"proposal {entity_id} trade {k + 1}: unreadable ({exc})") from None
        return out
    raise WorkstationError(f"approvals cover orders and proposals, not {entity!r}")


def _creator(session: Session, entity: str, entity_id: str) -> str | None:
    """Who made the order or proposal (four-eyes is about them, not whoever submits it)."""
    if not entity_id.isdigit():
        return None
    table = Order if entity == "order" else Proposal
    return session.execute(select(table.created_by).where(table.id == int(entity_id))).scalar_one_or_none()


def _case(session: Session, case_id: int) -> ApprovalCase:
    c = session.get(ApprovalCase, case_id)
    if c is None:
        raise NotFound(f"no approval case {case_id}")
    return c


def find_case(session: Session, entity: str, entity_id: object) -> ApprovalCase | None:
    return session.execute(
        select(ApprovalCase).where(ApprovalCase.entity == entity, ApprovalCase.entity_id == str(entity_id))
    ).scalar_one_or_none()


def _move(session: Session, user: str, case: ApprovalCase, event: str, reason: str | None = None,
          extra: dict[str, Any] | None = None) -> None:  # fmt: skip
    """Move the case on `event` through its state machine (engine.state.cases), which writes the
    `approval.<event>` audit entry in this transaction; another reviewer who decided first makes
    it raise ConcurrentChange with the case's state. (updated_at follows on the UPDATE.)"""
    CASES.fire(session, case, event, actor=user, reason=reason, detail=extra)


def fx_legs_for(session: Session, entity: str, entity_id: str) -> list[FxLeg]:
    """A proposal's FX funding trades as cash legs (orders have none)."""
    if entity != "proposal":
        return []
    p = session.get(Proposal, int(entity_id))
    if p is None:
        return []
    code = session.execute(select(Account.code).where(Account.id == p.account_id)).scalar_one()
    try:
        return fx_legs_from_trades(code, (p.payload or {}).get("fx_trades") or [])
    except (KeyError, TypeError, ValueError) as exc:
        raise WorkstationError(f"proposal {entity_id}: unreadable FX trade ({exc})") from None


def _apply_check(
    session: Session, user: str, case: ApprovalCase, intents: Sequence[OrderIntent], basis: CheckBasis | None
) -> CheckRun:
    fx_legs = fx_legs_for(session, case.entity, case.entity_id)
    if basis is None:
        run = run_check(session, intents, fx_legs=fx_legs)
    else:
        run = run_check(session, intents, fx_legs=fx_legs, book=basis.book, rules=basis.rules, now=basis.now)
    run.persist(session, user, case.entity, [case.entity_id] * len(intents))
    worst = max(run.order_codes) if len(intents) else 0
    case.outcome = ("pass", "warn", "flag", "block")[int(worst)]
    case.hard_block = any(run.hard_block(i) for i in range(len(intents)))
    case.run_id = run.run_id
    case.terms = _terms(intents)
    return run


def submit(
    session: Session,
    username: str,
    entity: str,
    entity_id: object,
    intents: Sequence[OrderIntent] | None = None,
    created_by: str | None = None,
    basis: CheckBasis | None = None,
) -> CaseView:
    """Open a case (draft), check it (checked) and, if anything is flagged, queue it for approval.
    `basis`: the book and rules already loaded for a batch of cases (`submit_many`)."""
    require(session, username, Permission.SUBMIT)
    if entity not in ENTITIES:
        raise WorkstationError(f"approvals cover orders and proposals, not {entity!r}")
    eid = str(entity_id)
    intents = list(intents) if intents is not None else intents_for(session, entity, eid)
    if not intents:
        raise WorkstationError(f"{entity} {eid} has no trades to check")
    case = find_case(session, entity, eid)
    if case is not None and case.state not in (DRAFT, REJECTED):
        raise InvalidTransition(f"{entity} {eid}", case.state, "submit")
    if case is None:
        creator = created_by or _creator(session, entity, eid) or username
        case = ApprovalCase(entity=entity, entity_id=eid, created_by=creator, terms=[])
        CASES.start(session, case, DRAFT, actor=username, event="open")
    else:
        _move(session, username, case, "reopen")
    run = _apply_check(session, username, case, intents, basis)
    _move(session, username, case, "checked", extra={"run": run.run_id, "counts": run.counts()})
    if case.outcome in ("flag", "block"):
        _move(session, username, case, "pending", extra={"hard_block": case.hard_block})
    return CaseView.of(case)


def submit_many(session: Session, username: str, entity: str, entity_ids: Sequence[object]) -> list[CaseView]:
    """`submit` for each of many orders or proposals, each checked on its own as before, with the
    book and rules loaded once for all of them (a flagged batch of 3,675 orders loaded them 3,675
    times: about 40 CPU ms of each case's check)."""
    require(session, username, Permission.SUBMIT)
    if entity not in ENTITIES:
        raise WorkstationError(f"approvals cover orders and proposals, not {entity!r}")
    ids = [str(e) for e in entity_ids]
    intents = {eid: intents_for(session, entity, eid) for eid in ids}
    if len(ids) < 2:
        return [submit(session, username, entity, eid, intents[eid]) for eid in ids]
    basis = check_basis(session, [i for eid in ids for i in intents[eid]], datetime.now(UTC))
    return [submit(session, username, entity, eid, intents[eid], basis=basis) for eid in ids]


def _approvers(session: Session, case: ApprovalCase) -> list[str]:
    return list(
        session.scalars(
            select(ApprovalDecision.username).where(
                ApprovalDecision.approval_id == case.id,
                ApprovalDecision.run_id == case.run_id,
                ApprovalDecision.decision == "approve",
            )
        )
    )


def decide(
    session: Session, username: str, case_id: int, decision: str, reason_code: str, comment: str = ""
) -> CaseView:
    """A reviewer approves or rejects a pending case with a reason code and a comment.

    A hard block needs two approvals by distinct compliance users (approvals.override), neither
    the trade's creator; the case stays pending after the first.
    """
    require(session, username, Permission.APPROVE)
    case = _case(session, case_id)
    if decision not in ("approve", "reject"):
        raise WorkstationError(f"decision must be approve or reject, not {decision!r}")
    if reason_code not in REASON_CODES:
        raise WorkstationError(f"reason code must be one of {', '.join(REASON_CODES)}, not {reason_code!r}")
    if case.state != PENDING:
        raise InvalidTransition(f"{case.entity} {case.entity_id}", case.state, decision)
    if username == case.created_by:
        record_separately(session, username, "approval.self_refused", f"approval:{case.entity}",
                          entity_id=case.entity_id, reason="nobody approves their own trade")  # fmt: skip
        raise SegregationOfDuties(
            f"{username} created {case.entity} {case.entity_id} and may not decide on it"
        )
    override = case.hard_block and decision == "approve"
    if override:
        require(session, username, Permission.OVERRIDE)
        if username in _approvers(session, case):
            record_separately(session, username, "approval.second_refused", f"approval:{case.entity}",
                              entity_id=case.entity_id, reason="an override needs two different approvers")  # fmt: skip
            raise SegregationOfDuties(
                f"{username} already approved this override; a second, different approver is needed"
            )
    session.add(
        ApprovalDecision(
            approval_id=case.id, run_id=case.run_id, username=username, decision=decision,
            reason_code=reason_code, comment=comment, override=override, at=datetime.now(UTC),
        )
    )  # fmt: skip
    session.flush()
    n = len(_approvers(session, case))
    if decision == "reject":
        _move(session, username, case, "reject", comment, {"reason_code": reason_code})
    elif override and n < 2:
        record(session, username, "approval.override_first", f"approval:{case.entity}", case.entity_id,
               {"state": PENDING}, {"state": PENDING, "approvals": n, "reason_code": reason_code}, comment)  # fmt: skip
    else:
        event = "override" if override else "approve"
        _move(session, username, case, event, comment, {"reason_code": reason_code, "approvals": n})
    return CaseView.of(case, n)


def release(session: Session, username: str, case_id: int, reason: str = "") -> CaseView:
    """Release to trading: straight after a clean check, or after approval (flagged: not by a PM)."""
    require(session, username, Permission.RELEASE)
    case = _case(session, case_id)
    clean = case.state == CHECKED and case.outcome in ("pass", "warn")
    if not (clean or case.state == APPROVED):
        raise InvalidTransition(f"{case.entity} {case.entity_id}", case.state, "release")
    if case.state == APPROVED:
        require(session, username, Permission.RELEASE_FLAGGED)
    _move(session, username, case, "release", reason or None)
    return CaseView.of(case)


def _looser(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """Why the new terms carry more risk than those checked (None if the same or tighter)."""
    for field in ("account", "symbol", "side"):
        if old[field] != new[field]:
            return f"{field} changed from {old[field]} to {new[field]}"
    if Decimal(new["quantity"]) > Decimal(old["quantity"]):
        return f"quantity up from {old['quantity']} to {new['quantity']}"
    ol, nl = old["limit_price"], new["limit_price"]
    if ol is not None and nl is None:
        return f"limit {ol} removed (now a market order)"
    if ol is not None and nl is not None:
        if new["side"] == "buy" and Decimal(nl) > Decimal(ol):
            return f"buy limit raised from {ol} to {nl}"
        if new["side"] == "sell" and Decimal(nl) < Decimal(ol):
            return f"sell limit lowered from {ol} to {nl}"
    return None


@dataclass(frozen=True)
class RouteVerdict:
    """Whether an order may route now, and if not, the sentence saying why."""

    ok: bool
    reason: str = ""
    case: CaseView | None = None


def check_routable(
    session: Session, username: str, entity_id: object, intents: Sequence[OrderIntent] | None = None,
    entity: str = "order",
) -> RouteVerdict:  # fmt: skip
    """May this order route? Only if released, unchanged (or re-checked clean), and no kill switch
    stops its account. A loosened order is re-checked now; if it no longer passes it goes back to
    pending approval. Nothing is raised: commit the session so a move back to pending is kept."""
    eid = str(entity_id)
    case = find_case(session, entity, eid)
    if case is None:
        return RouteVerdict(False, f"{entity} {eid} was never checked by compliance")
    if case.state != RELEASED:
        return RouteVerdict(
            False, f"{entity} {eid} is {case.state}, not released to trading", CaseView.of(case)
        )
    intents = list(intents) if intents is not None else intents_for(session, entity, eid)
    new_terms = _terms(intents)
    changes = []
    if len(new_terms) != len(case.terms):
        changes.append("the number of trades changed")
    else:
        changes = [w for o, n in zip(case.terms, new_terms) if (w := _looser(o, n))]
    if changes:
        why = "; ".join(changes)
        record(session, username, "approval.recheck", f"approval:{entity}", eid, {"terms": case.terms},
               {"terms": new_terms}, why)  # fmt: skip
        run = _apply_check(session, username, case, intents, None)
        if case.outcome in ("flag", "block"):
            _move(session, username, case, "pending", why, {"run": run.run_id})
            msgs = [
                m for i in range(len(intents)) for m in (r["message"] for r in run.results(i, hits_only=True))
            ]
            return RouteVerdict(
                False, f"{entity} {eid} changed ({why}) and needs approval again: " + " ".join(msgs[:3]),
                CaseView.of(case),
            )  # fmt: skip
        record(session, username, "approval.recheck_pass", f"approval:{entity}", eid, None,
               {"outcome": case.outcome, "run": run.run_id}, why)  # fmt: skip
    for o in intents:
        k = stopping(session, o.account)
        if k is not None:
            return RouteVerdict(False, f"{o.account}: {describe_switch(k)}", CaseView.of(case))
    return RouteVerdict(True, "", CaseView.of(case))


def assert_routable(
    session: Session, username: str, entity_id: object, intents: Sequence[OrderIntent] | None = None,
    entity: str = "order",
) -> CaseView:  # fmt: skip
    """`check_routable`, raising ComplianceBlocked when the order may not route.

    Raising rolls back the caller's transaction, and with it a move back to pending approval:
    callers that want the re-check kept use check_routable and commit.
    """
    v = check_routable(session, username, entity_id, intents, entity)
    if not v.ok:
        raise ComplianceBlocked(v.reason)
    assert v.case is not None
    return v.case


def queue(session: Session) -> list[dict[str, Any]]:
    """Cases waiting for a reviewer, oldest first, with their approvals so far."""
    out = []
    for c in session.scalars(
        select(ApprovalCase).where(ApprovalCase.state == PENDING).order_by(ApprovalCase.opened_at)
    ):
        out.append(
            {
                "id": c.id,
                "entity": c.entity,
                "entity_id": c.entity_id,
                "outcome": c.outcome,
                "hard_block": c.hard_block,
                "created_by": c.created_by,
                "approvals": _approvers(session, c),
                "terms": c.terms,
                "opened_at": c.opened_at,
            }
        )
    return out


def case_detail(session: Session, case_id: int) -> dict[str, Any]:
    """A case with its terms, decisions and the last check's results (what a reviewer reads)."""
    case = _case(session, case_id)
    results = session.scalars(
        select(CheckResult).where(CheckResult.run_id == case.run_id).order_by(CheckResult.id)
    ).all()
    decisions = session.scalars(
        select(ApprovalDecision).where(ApprovalDecision.approval_id == case.id).order_by(ApprovalDecision.id)
    ).all()
    return {
        "id": case.id,
        "entity": case.entity,
        "entity_id": case.entity_id,
        "state": case.state,
        "outcome": case.outcome,
        "hard_block": case.hard_block,
        "created_by": case.created_by,
        "terms": case.terms,
        "results": [
            {
                "account": r.account_code,
                "symbol": r.symbol,
                "side": r.side,
                "quantity": r.quantity,
                "rule": r.rule_code,
                "version": r.rule_version,
                "outcome": r.outcome,
                "limit": r.limit_value,
                "before": r.before_value,
                "after": r.after_value,
                "message": r.message,
            }
            for r in results
        ],
        "decisions": [
            {
                "user": d.username,
                "decision": d.decision,
                "reason_code": d.reason_code,
                "comment": d.comment,
                "override": d.override,
                "at": d.at,
            }
            for d in decisions
        ],
    }
