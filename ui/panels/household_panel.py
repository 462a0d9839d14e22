"""The household view (PM workspace): one household's accounts together, their values in the
household's reporting currency and shares, the aggregate's drift and tracking error against the
household target (its group's model, or the blend of its accounts' models, as the household solve
measures it), the proposals of its latest household run, and its tax year (realized gains by term,
estimated tax, budgets, carry-forward). Read in a worker through
engine.views.household."""

from __future__ import annotations

from typing import Any

import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QSplitter, QTabWidget, QVBoxLayout, QWidget

from engine.views import household as view
from ui.desk import Desk
from ui.panels.base import Panel
from widgets.blotter import Blotter
from widgets.columns import Column
from widgets.elided_label import ElidedLabel
from widgets.flow_layout import FlowBar
from widgets.formatting import fmt_money

ACCOUNT_COLUMNS = [
    Column("account", "Account"),
    Column("tax_status", "Tax status", "words"),
    Column("model", "Model"),
    Column("value_base", "Value (base)", "money", "base_currency"),
    Column("value", "Value (household ccy)", "money", "currency"),
    Column("share", "Share", "pct"),
    Column("cash", "Cash", "pct"),
    Column("max_drift", "Max drift (own model)", "pct"),
    Column("tracking_error", "TE (own model)", "pct"),
]
TAX_COLUMNS = [
    Column("account", "Account"),
    Column("tax_status", "Tax status", "words"),
    Column("ytd_short", "Short-term net (YTD)", "money", "base_currency", signed=True),
    Column("ytd_long", "Long-term net (YTD)", "money", "base_currency", signed=True),
    Column("ytd_tax", "Est. tax (YTD)", "money", "base_currency"),
    Column(
        "tax_budget", "Annual budget", "money", "base_currency", tooltip="the account's annual tax budget"
    ),
    Column("budget_left", "Budget left", "money", "base_currency", signed=True),
]
DRIFT_COLUMNS = [
    Column("symbol", "Symbol"),
    Column("sector", "Sector"),
    Column("weight", "Household weight", "pct"),
    Column("target", "Household target", "pct"),
    Column("drift", "Drift", "drift", signed=True),
    Column("accounts", "Held in", "int", tooltip="accounts of the household that hold it"),
]
PROPOSAL_COLUMNS = [
    Column("id", "Proposal", "int"),
    Column("account", "Account"),
    Column("status", "Status"),
    Column("trades", "Trades", "int"),
    Column("turnover", "Turnover", "pct"),
    Column("est_tax", "Est. tax", "money", "base_currency", signed=True),
    Column("te_before", "TE before", "pct"),
    Column("te_after", "TE after", "pct"),
    Column("created_by", "By"),
    Column("batch", "Batch"),
]


def tax_caption(summary: dict[str, Any]) -> str:
    """The household's tax year in its currency: the sums of the lines below, carry-forward, budget."""
    s = summary
    ccy = str(s.get("currency", ""))
    text = (
        f"  Realized this year (taxable accounts): net {fmt_money(s.get('ytd_gain', 0.0), ccy)}, "
        f"est. tax {fmt_money(s.get('ytd_tax', 0.0), ccy)}; loss carry-forward "
        f"{fmt_money(s.get('carry_forward', 0.0), ccy)}"
    )
    budget = s.get("tax_budget")
    text += "; no household tax budget" if budget is None else f"; household budget {fmt_money(budget, ccy)}"
    return text


def caption_text(summary: dict[str, Any]) -> str:
    s = summary
    target = "blend of its accounts' models" if s.get("target") == "blend" else f"model {s.get('target')}"
    group = "" if s.get("grouped") else " (no household group: solved account by account)"
    text = (
        f"  {s.get('household')} {s.get('name', '')}: {s.get('accounts', 0)} account(s), "
        f"{fmt_money(s.get('value', 0.0), str(s.get('currency', '')))}; target {target}{group}; "
        f"tracking error {float(s.get('tracking_error') or 0):.2%}, max drift {float(s.get('max_drift') or 0):.2%}"
    )
    run = s.get("run")
    if run:
        text += (
            f"; last household run {str(run.get('run_id', ''))[:8]}: TE {float(run.get('te_before') or 0):.2%} → "
            f"{float(run.get('te_after') or 0):.2%}, est. tax {fmt_money(run.get('est_tax', 0.0), str(s.get('currency', '')))}"
        )
    return text


class HouseholdPanel(Panel):
    name = "household"
    title = "Household"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.choice = QComboBox()
        self.choice.setToolTip("the household to show (code · name · accounts · group target)")
        self.choice.setMinimumContentsLength(30)
        self.choice.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.choice.activated.connect(lambda _i: self.show_household(str(self.choice.currentData())))
        bar = FlowBar()
        bar.add_field("Household:", self.choice)
        self.caption = ElidedLabel("  Choose a household")
        self.accounts = Blotter(ACCOUNT_COLUMNS, "account", "No household chosen", [])
        self.accounts.view.export_name = "household_accounts"
        self.drift = Blotter(DRIFT_COLUMNS, "symbol", "No household chosen", [])
        self.drift.view.export_name = "household_drift"
        self.proposals = Blotter(PROPOSAL_COLUMNS, "id", "No proposal for these accounts yet", [])
        self.proposals.view.export_name = "household_proposals"
        self.taxes = Blotter(TAX_COLUMNS, "account", "No household chosen", [])
        self.taxes.view.export_name = "household_tax_year"
        self.tax_caption = ElidedLabel("")
        tax_page = QWidget()
        tax_lay = QVBoxLayout(tax_page)
        tax_lay.setContentsMargins(0, 0, 0, 0)
        tax_lay.setSpacing(0)
        tax_lay.addWidget(self.tax_caption)
        tax_lay.addWidget(self.taxes, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.drift, "Drift vs household target")
        self.tabs.addTab(self.proposals, "Proposals")
        self.tabs.addTab(tax_page, "Tax year")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.accounts)
        split.addWidget(self.tabs)
        split.setSizes([180, 260])
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(bar)
        lay.addWidget(self.caption)
        lay.addWidget(split, 1)
        self.setWidget(body)
        self.summary: dict[str, Any] = {}
        self.shown: str | None = None
        self.reload_after("proposals")

    def load(self) -> None:
        self.desk.run("Loading households", lambda _t: view.households(self.desk.database), self._listed)

    def _listed(self, frame: pd.DataFrame) -> None:
        self.choice.clear()
        for c, n, k, t in zip(frame["code"], frame["name"], frame["accounts"], frame["target"]):
            self.choice.addItem(f"{c} · {n} · {k} account(s)" + (f" · {t}" if t else ""), str(c))
        if not len(frame):
            return
        want = self.shown
        if want is None:  # the first grouped household with more than one account, else the first
            many = frame[(frame["target"] != "") & (frame["accounts"] > 1)]
            want = str((many if len(many) else frame)["code"].iloc[0])
        i = self.choice.findData(want)
        self.choice.setCurrentIndex(max(i, 0))
        self.show_household(str(self.choice.currentData()))

    def show_household(self, code: str) -> None:
        self.shown = code

        def done(hv: view.HouseholdView) -> None:
            self.summary = hv.summary
            self.accounts.model.set_frame(hv.accounts)
            self.drift.model.set_frame(hv.drift)
            self.proposals.model.set_frame(hv.proposals)
            self.taxes.model.set_frame(hv.accounts)
            for b in (self.accounts, self.drift, self.proposals, self.taxes):
                b.view.fit_columns()
            self.caption.setText(caption_text(hv.summary))
            self.tax_caption.setText(tax_caption(hv.summary))

        def failed(msg: str) -> None:
            self.caption.setText(f"  Household {code}: {msg}")

        self.desk.run(
            f"Loading household {code}",
            lambda _t: view.household_view(self.desk.database, code),
            done,
            failed,
        )
