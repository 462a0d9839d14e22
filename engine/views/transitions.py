"""Read model of the PM's Transitions dock: stored transition plans and one plan's steps (projected
tax, turnover and tracking error, each step's state and proposal), as `rebalance transition list|show`,
and the desk's commands on them: execute the next step, cancel (engine.rebalance.transition_store,
which checks rebalance.run and audits)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from engine.rebalance import transition_store as store
from engine.store.database import Database

PLAN_KEYS = [
    "id",
    "account",
    "model",
    "status",
    "progress",
    "steps",
    "steps_done",
    "turnover_budget",
    "tax_budget",
    "currency",
    "te_start",
    "te_final",
    "reaches_model",
    "created_by",
]
STEP_KEYS = [
    "step",
    "date",
    "state",
    "status",
    "te_before",
    "te_after",
    "turnover",
    "est_tax",
    "est_cost",
    "realized_gain",
    "trades",
    "within_budget",
    "proposal",
    "proposal_status",
    "currency",
    "note",
]


def plans(database: Database) -> pd.DataFrame:
    """Every stored plan, newest first, with `progress` ("2 of 4")."""
    with database.session() as s:
        rows = store.list_plans(s)
    frame = pd.DataFrame(rows, columns=[k for k in PLAN_KEYS if k != "progress"])
    frame.insert(4, "progress", [f"{d} of {n}" for d, n in zip(frame["steps_done"], frame["steps"])])
    frame["reaches_model"] = frame["reaches_model"].map({True: "yes", False: "no"}).fillna("")
    return frame


def plan_steps(database: Database, plan_id: int) -> tuple[dict[str, Any], pd.DataFrame]:
    """(the plan's terms and outcome, one row per step)."""
    with database.session() as s:
        plan = store.show_plan(s, plan_id)
    rows = []
    for st in plan.get("projection") or []:
        rows.append(
            {
                **{k: st.get(k) for k in STEP_KEYS},
                "currency": plan.get("currency") or "",
                "note": st.get("te_note")
                or st.get("drift_note")
                or ("" if st.get("status") == "ok" else st.get("reason")),
            }
        )
    frame = pd.DataFrame(rows, columns=STEP_KEYS)
    frame["within_budget"] = frame["within_budget"].map({True: "yes", False: "no"}).fillna("")
    return plan, frame


def execute_next(database: Database, username: str, plan_id: int) -> dict[str, Any]:
    """Solve and store the plan's next step as a proposal as `username`: {plan, step, state, proposal}."""
    out = store.execute_step(database, username, plan_id)
    return {k: out.get(k) for k in ("plan", "step", "state", "proposal", "batch")}


def cancel(database: Database, username: str, plan_id: int, reason: str) -> str:
    with database.transaction() as s:
        return store.cancel(s, username, plan_id, reason)
