"""A stored transition plan on both backends: a what-if stores nothing (every table's row count
unchanged), a plan survives a restart, a trader is refused (audited), and the steps are executed
one by one as normal proposals: the next waits until the one before is released, a rejected
step is solved again, the last released finishes the plan."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

import resources
from engine.demo.build import build_demo_book
from engine.errors import InvalidTransition, PermissionDenied, WorkstationError
from engine.rebalance import transition_store as store
from engine.rebalance.review import review
from engine.rebalance.tables import Proposal
from engine.rebalance.transition import Budget
from engine.rebalance.transition_tables import TransitionPlan, TransitionStep
from engine.state.proposals import PROPOSALS
from engine.store.accounts import Account, Model
from engine.store.database import Database
from engine.store.people import AuditEntry
from engine.store.schema import metadata

PM = "pat.pm"


def row_counts(database: Database) -> dict[str, int]:
    """Rows in every table of the schema."""
    with database.session() as s:
        return {
            t.name: int(s.scalar(select(func.count()).select_from(t)) or 0) for t in metadata.sorted_tables
        }


@pytest.fixture
def book(database: Database) -> tuple[Database, str, str]:
    build_demo_book(database, resources.path("reference"), accounts=3, seed=11, today=date(2026, 11, 22))
    with database.session() as s:
        acct = s.scalars(select(Account).where(Account.tax_status == "taxable").order_by(Account.id)).first()
        assert acct is not None
        other = s.scalars(select(Model.code).where(Model.id != acct.model_id, Model.code == "GLOBAL")).first()
        other = other or s.scalars(select(Model.code).where(Model.id != acct.model_id)).first()
        return database, acct.code, str(other)


def audit(database: Database, entity: str) -> list[str]:
    with database.session() as s:
        return list(
            s.scalars(select(AuditEntry.action).where(AuditEntry.entity == entity).order_by(AuditEntry.id))
        )


def release(database: Database, proposal_id: int) -> None:
    """Stand-in for engine.release (tested on its own): accept, then the state machine's release edge."""
    with database.transaction() as s:
        review(s, PM, proposal_id, "accept")
    with database.transaction() as s:
        p = s.get(Proposal, proposal_id)
        PROPOSALS.fire(s, p, "release", actor=PM)


def test_plan_store_restart_and_steps(book: tuple[Database, str, str]) -> None:
    database, account, model = book
    budget = Budget(steps=2, turnover=0.4, tax_budget=20_000.0)

    before = row_counts(database)
    what_if = store.plan(database, PM, account, model, budget, save=False)
    assert what_if["id"] is None and len(what_if["projection"]) == 2
    assert row_counts(database) == before  # a what-if writes nothing, not even an audit entry

    with pytest.raises(PermissionDenied):
        store.plan(database, "tara.trader", account, model, budget)
    assert audit(database, "permission")[-1] == "permission.denied"
    assert row_counts(database)["transition_plans"] == 0

    out = store.plan(database, PM, account, model, budget)
    pid = out["id"]
    assert [s["state"] for s in out["projection"]] == ["planned", "planned"]
    assert out["projection"][0]["te_before"] == pytest.approx(what_if["projection"][0]["te_before"])
    with pytest.raises(WorkstationError, match="already has an active transition"):
        store.plan(database, PM, account, model, budget)
    assert audit(database, "transition") == ["transition.create"]
    assert audit(database, "transition_step") == ["transition_step.create"] * 2

    # A restart: a new connection to the same database shows the same plan.
    url = database.url
    database.dispose()
    reopened = Database(url, secret_box=database.secret_box)
    try:
        with reopened.session() as s:
            again = store.show_plan(s, pid)
        assert {k: v for k, v in again.items() if k != "created_at"} == {
            k: v for k, v in out.items() if k != "created_at"
        }
        _steps(reopened, pid, out)
    finally:
        reopened.dispose()


def _steps(database: Database, pid: int, out: dict[str, Any]) -> None:
    before = row_counts(database)
    peek = store.execute_step(database, PM, pid, save=False)
    assert peek["state"] == "what-if" and peek["proposal"] is None and peek["step"] == 1
    assert row_counts(database) == before

    first = store.execute_step(database, PM, pid)
    assert first["step"] == 1 and first["state"] == "proposed"
    rec = first["record"]
    # Same book as when planned: step 1 is the projected step 1, trade for trade.
    assert [
        {"symbol": t["symbol"], "side": t["side"], "quantity": t["quantity"]} for t in rec["trades"]
    ] == out["projection"][0]["orders"]
    assert rec["turnover"] <= 0.4 + 1e-9 and rec["est_tax"] <= 20_000.01
    with database.session() as s:
        p = s.get(Proposal, first["proposal"])
        assert p is not None and p.status == "ok" and p.created_by == PM
        assert p.payload["transition"] == {"plan": pid, "step": 1, "of": 2}

    with pytest.raises(WorkstationError, match=r"step 1's proposal \d+ is ok: it must be released"):
        store.execute_step(database, PM, pid)

    with database.transaction() as s:  # the PM rejects step 1: it is solved again
        review(s, PM, first["proposal"], "reject", "client asked to wait")
    again = store.execute_step(database, PM, pid)
    assert again["step"] == 1 and again["proposal"] != first["proposal"]

    release(database, again["proposal"])
    second = store.execute_step(database, PM, pid)
    assert second["step"] == 2
    release(database, second["proposal"])
    done = store.execute_step(database, PM, pid)
    assert done["state"] == "done" and done["step"] is None
    with database.session() as s:
        plan = s.get(TransitionPlan, pid)
        assert plan is not None and plan.status == "done"
        steps = list(s.scalars(select(TransitionStep).where(TransitionStep.plan_id == pid)))
        assert {st.status for st in steps} == {"done"}
    assert audit(database, "transition")[-1] == "transition.finish"
    assert audit(database, "transition_step") == [
        "transition_step.create", "transition_step.create", "transition_step.propose",
        "transition_step.repropose", "transition_step.complete", "transition_step.propose",
        "transition_step.complete",
    ]  # fmt: skip
    with pytest.raises(WorkstationError, match="is done"):
        store.execute_step(database, PM, pid)
    with pytest.raises(InvalidTransition), database.transaction() as s:
        store.cancel(s, PM, pid, "too late")
