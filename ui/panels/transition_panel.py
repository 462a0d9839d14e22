"""Transition plans (PM workspace): the stored plans (account, model, progress, budgets, tracking
error at the start and projected at the end), and the selected plan's steps with projected tax,
turnover and tracking error, each step's state and proposal. **Execute next step** (Ctrl+Return)
solves the next step on the book as it stands and stores it as a proposal; **Cancel plan…** asks for
a reason. Both run in a worker as the signed-in user through engine.rebalance.transition_store, which
needs rebalance.run (as the CLI) and audits; a refusal is shown on the status line."""

from __future__ import annotations

from typing import Any

import pandas as pd
from PySide6.QtWidgets import QInputDialog, QPushButton, QVBoxLayout, QWidget

from engine.views import transitions
from ui.desk import Desk
from ui.panels.base import Panel
from widgets.blotter import Blotter, RowAction
from widgets.columns import Column
from widgets.elided_label import ElidedLabel
from widgets.flow_layout import FlowBar
from widgets.formatting import fmt_money
from widgets.toolbar import themed_icon

PLAN_COLUMNS = [
    Column("id", "Plan", "int"),
    Column("account", "Account"),
    Column("model", "Model"),
    Column("status", "Status"),
    Column("progress", "Done"),
    Column("turnover_budget", "Turnover/step", "pct"),
    Column("tax_budget", "Tax/step", "money", "currency"),
    Column("te_start", "TE start", "pct"),
    Column("te_final", "TE end (proj.)", "pct"),
    Column("reaches_model", "Reaches model"),
    Column("created_by", "By"),
]
STEP_COLUMNS = [
    Column("step", "Step", "int"),
    Column("date", "Date (proj.)"),
    Column("state", "State"),
    Column("te_before", "TE before", "pct"),
    Column("te_after", "TE after", "pct"),
    Column("turnover", "Turnover", "pct"),
    Column("est_tax", "Est. tax", "money", "currency", signed=True),
    Column("est_cost", "Est. cost", "money", "currency"),
    Column("realized_gain", "Realized gain", "money", "currency", signed=True),
    Column("trades", "Trades", "int"),
    Column("within_budget", "In budget"),
    Column("proposal", "Proposal", "int"),
    Column("proposal_status", "Proposal status"),
    Column("note", "Note"),
]


def _pct(x: object) -> str:
    return "-" if not isinstance(x, int | float) else f"{x:.2%}"


def plan_caption(plan_id: int, p: dict[str, Any], tax: str, reach: str) -> str:
    """One line: the plan's terms, tracking error start -> end (one-shot), total tax and turnover."""
    ccy = str(p.get("currency") or "")
    return (
        f"  Plan {plan_id} {p.get('account', '')} → {p.get('model', '')} ({p.get('status')}): "
        f"{p.get('steps')} step(s) of {float(p.get('turnover_budget') or 0):.0%} turnover, {tax}; "
        f"TE {_pct(p.get('te_start'))} → {_pct(p.get('te_final'))} (one-shot {_pct(p.get('te_one_shot'))}), "
        f"total est. tax {fmt_money(float(p.get('total_tax') or 0), ccy)}; {reach}"
    )


class TransitionsPanel(Panel):
    name = "transitions"
    title = "Transitions"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.plans = Blotter(
            PLAN_COLUMNS,
            "id",
            "No transition plan — `workstation rebalance transition plan`",
            [("status", "Status")],
        )
        self.plans.view.export_name = "transitions"
        self.steps = Blotter(STEP_COLUMNS, "step", "Select a plan to see its steps", [])
        self.steps.view.export_name = "transition_steps"
        self.step_button = QPushButton(themed_icon("fa5s.step-forward"), "Execute next step")
        self.step_button.setToolTip(
            "solve the selected plan's next step and store it as a proposal (Ctrl+Return)"
        )
        self.cancel_button = QPushButton(themed_icon("fa5s.ban"), "Cancel plan…")
        self.cancel_button.setToolTip("cancel the selected plan with a reason (its proposals stay)")
        self.step_button.clicked.connect(lambda _c=False: self.execute_next(self.selected()))
        self.cancel_button.clicked.connect(lambda _c=False: self.cancel(self.selected()))

        def active(rows: list[dict[str, object]]) -> bool:
            return len(rows) == 1 and rows[0].get("status") == "active"

        self.plans.set_actions(
            [
                RowAction("Execute next step", self.execute_next, active, shortcut="Ctrl+Return"),
                RowAction("Cancel plan…", self.cancel, active),
            ]
        )
        self.plans.view.clicked.connect(
            lambda idx: self.show_plan(int(self.plans.model.value(idx.row(), "id")))
        )
        self.caption = ElidedLabel("  Select a plan to see its steps")
        bar = FlowBar()
        bar.add(self.step_button)
        bar.add(self.cancel_button)
        lower = QWidget()
        lay = QVBoxLayout(lower)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.caption)
        lay.addWidget(self.steps, 1)
        self.set_split_body(bar, self.plans, lower, [200, 260])
        self.plan: dict[str, Any] = {}
        self.shown: int | None = None
        self.reload_after("proposals", "transitions")

    def selected(self) -> list[object]:
        """The selected plan ids (the shown plan when nothing is selected)."""
        keys = [r["id"] for r in self.plans.selected_rows()]
        return keys or ([self.shown] if self.shown is not None else [])

    def load(self) -> None:
        self.desk.run(
            "Loading transition plans", lambda _t: transitions.plans(self.desk.database), self._loaded
        )

    def _loaded(self, frame: pd.DataFrame) -> None:
        self.plans.model.set_frame(frame)
        self.plans.view.fit_columns()
        if self.shown is None and len(frame):
            self.show_plan(int(frame["id"].iloc[0]))
        elif self.shown is not None:
            self.show_plan(self.shown)

    def show_plan(self, plan_id: int) -> None:
        self.shown = plan_id

        def done(result: tuple[dict[str, Any], pd.DataFrame]) -> None:
            self.plan, frame = result
            self.steps.model.set_frame(frame)
            self.steps.view.fit_columns()
            p = self.plan
            tax = (
                "no tax budget"
                if p.get("tax_budget") is None
                else f"tax {p['tax_budget']:,.0f} {p.get('currency', '')}"
            )
            reach = (
                "reaches the model"
                if p.get("reaches_model")
                else f"does not reach the model ({p.get('gap') or 'budgets too tight'})"
            )
            self.caption.setText(plan_caption(plan_id, p, tax, reach))

        self.desk.run(
            f"Loading transition {plan_id}",
            lambda _t: transitions.plan_steps(self.desk.database, plan_id),
            done,
        )

    def execute_next(self, keys: list[object]) -> None:
        """Solve and store the next step of the (one) selected plan, in a worker."""
        if len(keys) != 1:
            self.desk.message.emit("Transitions: select one plan")
            return
        pid, user = int(str(keys[0])), self.desk.user.username

        def done(out: dict[str, Any]) -> None:
            if out.get("proposal"):
                self.desk.message.emit(
                    f"Transition {pid}: step {out['step']} is proposal {out['proposal']} ({out['state']})"
                )
            else:
                self.desk.message.emit(f"Transition {pid}: {out.get('state')}")
            self.load()
            self.desk.data_changed.emit("proposals")

        def failed(msg: str) -> None:
            self.desk.message.emit(f"Transition {pid}: step refused (nothing stored): {msg}")
            self.load()

        self.desk.run(
            f"Transition {pid}: next step",
            lambda _t: transitions.execute_next(self.desk.database, user, pid),
            done,
            failed,
        )

    def cancel(self, keys: list[object], reason: str | None = None) -> None:
        """Cancel the selected plan with a reason (asked for when not given)."""
        if len(keys) != 1:
            return
        pid = int(str(keys[0]))
        if reason is None:
            reason, ok = QInputDialog.getText(
                self, f"Cancel transition {pid}", "Reason (kept in the audit trail):"
            )
            if not ok:
                return
        user, why = self.desk.user.username, reason

        def done(state: str) -> None:
            self.desk.message.emit(f"Transition {pid}: {state}")
            self.load()

        def failed(msg: str) -> None:
            self.desk.message.emit(f"Transition {pid}: not cancelled: {msg}")

        self.desk.run(
            f"Cancel transition {pid}",
            lambda _t: transitions.cancel(self.desk.database, user, pid, why),
            done,
            failed,
        )
