"""Compare two rebalance runs (PM workspace): choose run A and run B among the stored runs, and see
each account's drift and tracking error before, after each run, turnover and estimated tax, and the
difference B - A (engine.views.run_compare over engine.rebalance.compare, as `rebalance compare`).
Reads only, in a worker; the runs list reloads after a run from the proposals dock."""

from __future__ import annotations

from typing import Any

import pandas as pd
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QPushButton, QVBoxLayout, QWidget

from engine.views.run_compare import compare_runs, runs
from ui.desk import Desk
from ui.panels.base import Panel
from widgets.blotter import Blotter
from widgets.columns import Column
from widgets.elided_label import ElidedLabel
from widgets.flow_layout import FlowBar
from widgets.formatting import fmt_money
from widgets.toolbar import themed_icon

COMPARE_COLUMNS = [
    Column("account", "Account"),
    Column("base_currency", "Ccy"),
    Column("status_a", "A"),
    Column("status_b", "B"),
    Column("drift_before", "Max drift before", "pct"),
    Column("drift_a", "Drift A", "pct", tooltip="max drift after run A"),
    Column("drift_b", "Drift B", "pct", tooltip="max drift after run B"),
    Column("drift_diff", "Drift B−A", "drift", signed=True),
    Column("te_before", "TE before", "pct", tooltip="tracking error to the model before trading"),
    Column("te_a", "TE A", "pct"),
    Column("te_b", "TE B", "pct"),
    Column("te_diff", "TE B−A", "drift", signed=True),
    Column("turnover_a", "Turnover A", "pct"),
    Column("turnover_b", "Turnover B", "pct"),
    Column("turnover_diff", "Turnover B−A", "drift"),
    Column("tax_a", "Est. tax A", "money", "base_currency"),
    Column("tax_b", "Est. tax B", "money", "base_currency"),
    Column("tax_diff", "Tax B−A", "money", "base_currency", signed=True),
    Column("trades_differing", "Trades differing", "int"),
]


def caption_text(summary: dict[str, Any]) -> str:
    """One line: per run the accounts ok, mean turnover and TE after, tax per currency; how many differ."""
    parts = []
    for side in ("a", "b"):
        s = summary.get(side) or {}
        tax = ", ".join(fmt_money(v, c) for c, v in (s.get("est_tax_by_currency") or {}).items()) or "no tax"
        mt, te = s.get("mean_turnover"), s.get("mean_te_after")
        parts.append(
            f"{side.upper()}: {s.get('ok', 0)}/{s.get('accounts', 0)} ok, turnover "
            f"{'-' if mt is None else f'{mt:.2%}'}, TE after {'-' if te is None else f'{te:.2%}'}, tax {tax}"
        )
    return "  " + "; ".join(parts) + f"; {summary.get('accounts_differing', 0)} account(s) differ"


class ComparePanel(Panel):
    name = "compare"
    title = "Compare runs"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.run_a, self.run_b = QComboBox(), QComboBox()
        for box, what in ((self.run_a, "A"), (self.run_b, "B")):
            box.setToolTip(f"run {what}: a stored rebalance run (batch id · when · mode · accounts · who)")
            box.setMinimumContentsLength(18)
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.compare_button = QPushButton(themed_icon("fa5s.columns"), "Compare")
        self.compare_button.setToolTip("compare run A with run B, account by account (Ctrl+Return)")
        self.compare_button.clicked.connect(lambda _c=False: self.compare())
        bar = FlowBar()
        bar.add_field("Run A:", self.run_a)
        bar.add_field("Run B:", self.run_b)
        bar.add(self.compare_button)
        self.caption = ElidedLabel("  Choose two runs and Compare")
        self.blotter = Blotter(COMPARE_COLUMNS, "account", "Choose two runs and press Compare", [])
        self.blotter.view.export_name = self.name
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(bar)
        lay.addWidget(self.caption)
        lay.addWidget(self.blotter, 1)
        self.setWidget(body)
        sc = QShortcut(QKeySequence("Ctrl+Return"), body)
        sc.activated.connect(self.compare)
        self.summary: dict[str, Any] = {}
        self.reload_after("proposals")

    def load(self) -> None:
        self.desk.run("Loading rebalance runs", lambda _t: runs(self.desk.database), self._runs)

    def _runs(self, frame: pd.DataFrame) -> None:
        keep = (self.run_a.currentData(), self.run_b.currentData())
        for box in (self.run_a, self.run_b):
            box.blockSignals(True)
            box.clear()
            for b, label in zip(frame["batch_id"], frame["label"]):
                box.addItem(str(label), str(b))
            box.blockSignals(False)
        for box, want, default in ((self.run_a, keep[0], 1), (self.run_b, keep[1], 0)):
            i = box.findData(want) if want else -1
            box.setCurrentIndex(i if i >= 0 else min(default, box.count() - 1))

    def compare(self, run_a: str | None = None, run_b: str | None = None) -> None:
        """Compare the chosen runs (or the batch ids given) in a worker."""
        a = run_a or self.run_a.currentData()
        b = run_b or self.run_b.currentData()
        if not a or not b:
            self.desk.message.emit("Compare: choose two runs")
            return

        def done(result: tuple[dict[str, Any], pd.DataFrame]) -> None:
            self.summary, frame = result
            self.blotter.model.set_frame(frame)
            self.blotter.view.fit_columns()
            self.caption.setText(caption_text(self.summary))

        def failed(msg: str) -> None:
            self.caption.setText(f"  Compare: {msg}")

        self.desk.run(
            f"Comparing {str(a)[:8]} with {str(b)[:8]}",
            lambda _t: compare_runs(self.desk.database, a, b),
            done,
            failed,
        )
