"""Stored transition plans: plan (project and store), list, show, and execute the next step.

`plan` projects the steps (engine.rebalance.transition) on the book as it stands and stores the
plan with one `planned` row per step (`--what-if`: projected, nothing stored). `step` solves the
next step on the book as it stands then (the earlier steps' fills included), within the plan's
budgets and against its model, and stores it as a normal proposal (status ok, created by the PM,
exception queue, then the PM's accept, compliance and release like any proposal). A step waits
for the step before it: its proposal must have been released (then that step is `done`); a
rejected step is solved again. The last step released finishes the plan. Every change is audited
by the state machines of engine.state.transitions and engine.state.proposals.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.errors import NotFound, RebalanceInfeasible, WorkstationError
from engine.rebalance.exceptions import queue
from engine.rebalance.run_inputs import load_run
from engine.rebalance.settings import RebalanceSettings
from engine.rebalance.tables import Proposal
from engine.rebalance.transition import Budget, plan_transition, solve_step
from engine.rebalance.transition_tables import TransitionPlan, TransitionStep
from engine.state.proposals import PROPOSALS, REJECTED, RELEASED
from engine.state.transitions import ACTIVE, DONE, PLANNED, PLANS, PROPOSED, STEPS
from engine.store.accounts import Account, Model
from engine.store.database import Database


def _account(session: Session, code: str) -> Account:
    a = session.scalar(select(Account).where(Account.code == code))
    if a is None:
        raise NotFound(f"account {code!r} does not exist")
    return a


def _model(session: Session, code: str | None, account: Account) -> Model:
    if code is None:
        if account.model_id is None:
            raise WorkstationError(f"account {account.code} has no model: give --model")
        m = session.get(Model, account.model_id)
    else:
        m = session.scalar(select(Model).where(Model.code == code))
    if m is None:
        raise NotFound(f"model {code!r} does not exist")
    return m


def project(database: Database, account_code: str, model_code: str | None, budget: Budget) -> dict[str, Any]:
    """The projected plan for an account (nothing stored)."""
    budget.validate()
    with database.session() as s:
        acct = _account(s, account_code)
        model = _model(s, model_code, acct)
        aid, mid = acct.id, model.id
    u, accounts = load_run(database, [aid])
    return plan_transition(u, accounts[0], mid, budget, RebalanceSettings())


def plan(
    database: Database,
    user: str,
    account_code: str,
    model_code: str | None,
    budget: Budget,
    *,
    save: bool = True,
) -> dict[str, Any]:
    """Project the plan and (with `save`) store it, audited; needs rebalance.run either way."""
    with database.session() as s:
        require(s, user, Permission.REBALANCE_RUN)
    out = project(database, account_code, model_code, budget)
    if not save:
        return {"id": None, "status": "what-if", **out}
    with database.transaction() as s:
        require(s, user, Permission.REBALANCE_RUN)
        acct = _account(s, account_code)
        if s.scalar(
            select(func.count()).where(TransitionPlan.account_id == acct.id, TransitionPlan.status == ACTIVE)
        ):
            raise WorkstationError(
                f"account {account_code} already has an active transition: cancel it first"
            )
        p = TransitionPlan(
            account_id=acct.id,
            model_id=out["model_id"],
            steps=budget.steps,
            turnover=budget.turnover,
            tax_budget=None if budget.tax_budget is None else Decimal(str(budget.tax_budget)),
            currency=acct.base_currency,
            tolerance=budget.tolerance,
            every_days=budget.every_days,
            created_by=user,
            projection=out,
        )
        PLANS.start(s, p, ACTIVE, actor=user, detail={"account": account_code, "model": out["model"]})
        STEPS.start_many(s, [(TransitionStep(plan_id=p.id, step=i), PLANNED) for i in range(1, budget.steps + 1)],
                         actor=user)  # fmt: skip
        return show_plan(s, p.id)


def _budget(p: TransitionPlan) -> Budget:
    return Budget(
        steps=p.steps,
        turnover=p.turnover,
        tax_budget=None if p.tax_budget is None else float(p.tax_budget),
        tolerance=p.tolerance,
        every_days=p.every_days,
    )


def show_plan(session: Session, plan_id: int) -> dict[str, Any]:
    """A stored plan: its terms, the projection made when planned, and each step's state."""
    p = session.get(TransitionPlan, plan_id)
    if p is None:
        raise NotFound(f"transition {plan_id} does not exist")
    steps = list(
        session.scalars(
            select(TransitionStep).where(TransitionStep.plan_id == p.id).order_by(TransitionStep.step)
        )
    )
    props = {
        x.id: x.status
        for x in session.scalars(
            select(Proposal).where(Proposal.id.in_([st.proposal_id for st in steps if st.proposal_id]))
        )
    }
    proj = {s["step"]: s for s in p.projection.get("projection", [])}
    return {
        **{k: v for k, v in p.projection.items() if k != "projection"},
        "id": p.id,
        "status": p.status,
        "created_by": p.created_by,
        "created_at": p.created_at,
        "tax_budget": None if p.tax_budget is None else float(p.tax_budget),
        "currency": p.currency,
        "projection": [
            {
                **proj.get(st.step, {"step": st.step}),
                "state": st.status,
                "proposal": st.proposal_id,
                "proposal_status": props.get(st.proposal_id) if st.proposal_id else None,
            }
            for st in steps
        ],
    }


def list_plans(session: Session, account_code: str | None = None) -> list[dict[str, Any]]:
    """Every stored plan (newest first), with its next step."""
    q = select(TransitionPlan, Account.code, Model.code).join(
        Account, Account.id == TransitionPlan.account_id
    )
    q = q.join(Model, Model.id == TransitionPlan.model_id).order_by(TransitionPlan.id.desc())
    if account_code:
        q = q.where(Account.code == account_code)
    out = []
    for p, acode, mcode in session.execute(q):
        done = session.scalar(
            select(func.count()).where(TransitionStep.plan_id == p.id, TransitionStep.status == DONE)
        )
        out.append(
            {
                "id": p.id, "account": acode, "model": mcode, "status": p.status, "steps": p.steps,
                "steps_done": int(done or 0), "turnover_budget": p.turnover,
                "tax_budget": None if p.tax_budget is None else float(p.tax_budget), "currency": p.currency,
                "te_start": p.projection.get("te_start"), "te_final": p.projection.get("te_final"),
                "reaches_model": p.projection.get("reaches_model"), "created_by": p.created_by,
            }
        )  # fmt: skip
    return out


def _advance(session: Session, p: TransitionPlan, user: str) -> TransitionStep | None:
    """Mark released steps done (finishing the plan after the last); the step to execute next,
    or None when the plan is done. A step whose proposal waits for review or release refuses."""
    for st in session.scalars(
        select(TransitionStep).where(TransitionStep.plan_id == p.id).order_by(TransitionStep.step)
    ):
        if st.status == DONE:
            continue
        if st.status == PLANNED:
            return st
        prop = session.get(Proposal, st.proposal_id) if st.proposal_id else None
        status = prop.status if prop is not None else "missing"
        if status == RELEASED:
            STEPS.fire(session, st, "complete", actor=user, detail={"proposal": st.proposal_id})
            continue
        if status in (REJECTED, "missing"):
            return st  # solved again
        raise WorkstationError(
            f"transition {p.id}: step {st.step}'s proposal {st.proposal_id} is {status}: it must be released "
            f"(or rejected) before the next step"
        )
    PLANS.fire(session, p, "finish", actor=user)
    return None


def execute_step(database: Database, user: str, plan_id: int, *, save: bool = True) -> dict[str, Any]:
    """Solve the plan's next step on the book as it stands and store it as a proposal (audited).

    Returns {plan, step, proposal, batch, record, state}; with `save` False nothing is written
    (the step is solved as it would be). A step that cannot be solved within its budgets raises
    RebalanceInfeasible naming the binding constraint, and nothing is stored."""
    with database.transaction() as s:  # marks released steps done even when nothing else is stored
        require(s, user, Permission.REBALANCE_RUN)
        p = s.get(TransitionPlan, plan_id)
        if p is None:
            raise NotFound(f"transition {plan_id} does not exist")
        if p.status != ACTIVE:
            raise WorkstationError(f"transition {plan_id} is {p.status}: no step left to execute")
        st = _advance(s, p, user) if save else _peek(s, p)
        if st is None:
            return {"plan": plan_id, "step": None, "state": "done", "proposal": None, "record": None}
        account_id, model_id, budget, number = p.account_id, p.model_id, _budget(p), st.step
    u, accounts = load_run(database, [account_id])
    a = replace(accounts[0], model_id=model_id, relief="min_tax")
    rec = solve_step(u, a, RebalanceSettings(), budget, u.as_of)
    rec["transition"] = {"plan": plan_id, "step": number, "of": budget.steps}
    if rec["status"] != "ok":
        raise RebalanceInfeasible(
            str(rec["account"]), f"transition {plan_id} step {number}", str(rec["reason"])
        )
    if not save:
        return {"plan": plan_id, "step": number, "state": "what-if", "proposal": None, "record": rec}
    batch = uuid.uuid4().hex
    with database.transaction() as s:
        require(s, user, Permission.REBALANCE_RUN)
        st = s.scalars(
            select(TransitionStep).where(TransitionStep.plan_id == plan_id, TransitionStep.step == number)
        ).one()
        prop = Proposal(batch_id=batch, account_id=account_id, mode=str(rec["mode"]), reason=rec["reason"],
                        created_by=user, payload=rec)  # fmt: skip
        PROPOSALS.start(
            s, prop, "ok", actor=user, detail={"batch": batch, "transition": plan_id, "step": number}
        )
        event = "propose" if st.status == PLANNED else "repropose"
        STEPS.fire(s, st, event, actor=user, also={"proposal_id": prop.id, "batch_id": batch})
        queue(s, [prop], user)
        return {
            "plan": plan_id,
            "step": number,
            "state": PROPOSED,
            "proposal": prop.id,
            "batch": batch,
            "record": rec,
        }


def _peek(session: Session, p: TransitionPlan) -> TransitionStep | None:
    """The step a what-if would execute (no state moves): the first that is not done."""
    return session.scalars(
        select(TransitionStep)
        .where(TransitionStep.plan_id == p.id, TransitionStep.status != DONE)
        .order_by(TransitionStep.step)
    ).first()


def cancel(session: Session, user: str, plan_id: int, reason: str) -> str:
    """Cancel an active plan (with a reason); its proposals stay as they are."""
    require(session, user, Permission.REBALANCE_RUN)
    p = session.get(TransitionPlan, plan_id)
    if p is None:
        raise NotFound(f"transition {plan_id} does not exist")
    PLANS.next(p.status, "cancel", p)
    if not reason.strip():
        raise WorkstationError(f"transition {plan_id}: a cancellation needs a reason")
    return PLANS.fire(session, p, "cancel", actor=user, reason=reason)
