"""Stale data: the prices and FX rates the book depends on that are older than the policy allows.

Read-only, from engine.views.stale.stale_report (what `workstation report stale` prints), in a
worker. Accounts that depend on a stale item are suspended from the rebalance.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from PySide6.QtWidgets import QVBoxLayout, QWidget

from engine.views.stale import StaleReport, stale_report
from ui.desk import Desk
from ui.panels.base import Panel
from widgets.blotter import Blotter
from widgets.columns import Column
from widgets.elided_label import ElidedLabel

STALE_COLUMNS = [
    Column("kind", "Kind"),
    Column("name", "Name"),
    Column("asset_class", "Asset class"),
    Column("market", "Market"),
    Column("last", "Last"),
    Column("expected", "Expected"),
    Column("accounts", "Accounts", "int", tooltip="accounts that depend on it: the rebalance suspends them"),
    Column("rule", "Policy"),
]


def stale_frame(report: StaleReport) -> pd.DataFrame:
    """One row per stale price, then per stale FX rate; `last` is 'none' when there is none at all."""
    rows = [r.as_dict() for r in [*report.prices, *report.fx]]
    frame = pd.DataFrame(rows, columns=[c.key for c in STALE_COLUMNS])
    frame["last"] = [v if v else "none" for v in frame["last"]]
    frame["market"] = [v if v else "" for v in frame["market"]]
    frame.insert(0, "id", [f"{k}:{n}" for k, n in zip(frame["kind"], frame["name"], strict=True)])
    return frame


def load_stale(database: Any) -> tuple[str, pd.DataFrame]:
    with database.session() as s:
        report = stale_report(s)
    return report.at.isoformat(), stale_frame(report)


class StalePanel(Panel):
    name = "stale"
    title = "Stale data"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.blotter = Blotter(
            STALE_COLUMNS,
            "id",
            "No stale prices or FX rates — every account can be rebalanced",
            [("kind", "Kind"), ("market", "Market")],
        )
        self.blotter.view.export_name = self.name
        self.caption = ElidedLabel("")
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.caption)
        layout.addWidget(self.blotter, 1)
        self.setWidget(body)
        self.reload_after("daycycle")  # a close books, revalues and reconciles

    def load(self) -> None:
        self.desk.run("Loading stale data", lambda _t: load_stale(self.desk.database), self._loaded)

    def _loaded(self, result: tuple[str, pd.DataFrame]) -> None:
        at, frame = result
        self.blotter.model.set_frame(frame)
        self.blotter.view.fit_columns()
        n = len(frame)
        held = int(frame["accounts"].max()) if n else 0
        self.caption.setText(
            f"  As of {at}: "
            + (
                "nothing stale"
                if n == 0
                else f"{n} stale price(s) or rate(s); up to {held} account(s) suspended by one"
            )
        )
