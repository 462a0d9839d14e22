"""Accounts -> positions -> lots drill-down grid with a breadcrumb, quick filter, copy and export."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from widgets.columns import Column
from widgets.empty_state import EmptyStateStack
from widgets.flow_layout import FlowBar
from widgets.table_model import FrameTableModel
from widgets.table_view import DataTableView
from widgets.toolbar import filter_box, icon_button

ACCOUNT_COLUMNS = [
    Column("code", "Account"),
    Column("name", "Name"),
    Column("household", "Household"),
    Column("model", "Model"),
    Column("base_currency", "Base"),
    Column("value_base", "Market value (base)", "money", "base_currency"),
    Column("cash_base", "Cash (base)", "money", "base_currency"),
    Column("positions", "Positions", "int"),
    Column(
        "max_drift", "Max drift", "drift", tooltip="largest |weight - model target| of any position or cash"
    ),
    Column("drift_band", "Band", "pct", tooltip="drift that triggers a rebalance"),
    Column("out_of_band", "Out of band"),
    Column(
        "unrealized_st",
        "Unrealized ST",
        "money",
        "base_currency",
        signed=True,
        tooltip="held one year or less",
    ),
    Column(
        "unrealized_lt",
        "Unrealized LT",
        "money",
        "base_currency",
        signed=True,
        tooltip="held more than one year",
    ),
]
POSITION_COLUMNS = [
    Column("symbol", "Symbol"),
    Column("name", "Name"),
    Column("sector", "Sector"),
    Column("quantity", "Quantity", "qty"),
    Column("price", "Price", "price"),
    Column("mv_local", "Market value (local)", "money", "currency"),
    Column(
        "mv_base_shown",
        "Market value (base)",
        "money",
        "base_currency",
        tooltip="rounded together with the other lines: they add up to the account's value",
    ),
    Column(
        "weight_shown", "Weight", "pct", tooltip="rounded together: an account's weights add up to 100.00%"
    ),
    Column("target", "Model", "pct", tooltip="looked-through model weight x (1 - cash target)"),
    Column("drift", "Drift", "drift", signed=True),
    Column("unrealized_st", "Unrealized ST", "money", "base_currency", signed=True),
    Column("unrealized_lt", "Unrealized LT", "money", "base_currency", signed=True),
    Column("lots", "Lots", "int"),
]
LOT_COLUMNS = [
    Column("lot_ref", "Lot"),
    Column("acquired_date", "Acquired", "date"),
    Column("term", "Term", tooltip="long: held more than one year (US rule)"),
    Column("quantity", "Quantity", "qty"),
    Column("unit_cost", "Unit cost", "price"),
    Column("price", "Price", "price"),
    Column("mv_local", "Market value (local)", "money", "currency"),
    Column("mv_base", "Market value (base)", "money", "base_currency"),
    Column("cost_base", "Cost (base)", "money", "base_currency"),
    Column("unrealized_base", "Unrealized", "money", "base_currency", signed=True),
]
LEVELS = {"accounts": ACCOUNT_COLUMNS, "positions": POSITION_COLUMNS, "lots": LOT_COLUMNS}
DRILL = {"accounts": "Open account (Enter)", "positions": "Open lots (Enter)"}


class HoldingsGrid(QWidget):
    """One table whose level changes on double-click; the breadcrumb goes back up."""

    account_opened = Signal(int)
    position_opened = Signal(int, int)
    back_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.level = "accounts"
        # accounts keyed by id: a few accounts another desk changed are upserted, not reloaded
        self.models = {
            name: FrameTableModel(cols, key="account_id" if name == "accounts" else None)
            for name, cols in LEVELS.items()
        }
        self.views = {name: DataTableView(m) for name, m in self.models.items()}
        self.crumb = QLabel("All accounts")
        self.crumb.setOpenExternalLinks(False)
        self.crumb.linkActivated.connect(self.back_requested.emit)
        self.crumb.setWordWrap(True)  # a narrow dock wraps the breadcrumb instead of clipping it
        self.filter = filter_box("Filter (symbol, name, account…) Ctrl+F", self._on_filter)
        find = QAction("Filter", self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        find.triggered.connect(self.focus_filter)
        self.addAction(find)
        self.count = QLabel("")
        bar = FlowBar()
        bar.add(self.crumb, grow=True, min_width=260)
        bar.add(self.count)
        bar.add(self.filter)
        bar.add(icon_button("fa5s.copy", "Copy selection as tab-separated text (Ctrl+C)", self.copy))
        bar.add(
            icon_button("fa5s.file-csv", "Export the visible rows to CSV", lambda: self.export_dialog(".csv"))
        )
        bar.add(
            icon_button(
                "fa5s.file-excel", "Export the visible rows to Excel", lambda: self.export_dialog(".xlsx")
            )
        )
        self.stacks: dict[str, EmptyStateStack] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(bar)
        self.pages = QStackedWidget()
        for name, view in self.views.items():
            stack = EmptyStateStack(view, self.models[name], "Loading the book…")
            self.stacks[name] = stack
            self.pages.addWidget(stack)
            view.doubleClicked.connect(lambda idx, n=name: self._drill(n, idx))
            view.activated.connect(lambda idx, n=name: self._drill(n, idx))
            view.export_name = name
            if name in DRILL:
                view.drill = (DRILL[name], lambda idx, n=name: self._drill(n, idx))
            self.models[name].modelReset.connect(self._update_count)
        layout.addWidget(self.pages, 1)

    @property
    def model(self) -> FrameTableModel:
        return self.models[self.level]

    @property
    def view(self) -> DataTableView:
        return self.views[self.level]

    def show_level(
        self, level: str, frame: pd.DataFrame, crumbs: list[tuple[str, str]], empty: str = ""
    ) -> None:
        """Show `frame` at `level`; crumbs are (link target, text) pairs, the last one plain."""
        self.level = level
        model = self.models[level]
        model.set_frame(frame)
        if empty:
            self.stacks[level].set_message(empty)
        parts = [f'<a href="{target}">{text}</a>' for target, text in crumbs[:-1]] + [
            f"<b>{crumbs[-1][1]}</b>"
        ]
        self.crumb.setText(" › ".join(parts))
        self.pages.setCurrentWidget(self.stacks[level])
        model.set_text_filter(self.filter.text())
        self.views[level].fit_columns()
        self._update_count()

    def _on_filter(self, text: str) -> None:
        self.model.set_text_filter(text)
        self.stacks[self.level].keep_view(bool(text))
        self._update_count()

    def _update_count(self) -> None:
        m = self.model
        self.count.setText(f"{m.rowCount():,} of {m.total_rows:,} rows")

    def _drill(self, level: str, index: QModelIndex) -> None:
        model = self.models[level]
        if level == "accounts":
            self.account_opened.emit(int(model.value(index.row(), "account_id")))
        elif level == "positions":
            sid = int(model.value(index.row(), "security_id"))
            if sid >= 0:
                self.position_opened.emit(int(model.value(index.row(), "account_id")), sid)

    def copy(self) -> str:
        return self.view.copy_selection()

    def export(self, path: Path) -> int:
        """The visible rows and columns of the current level (hidden columns left out)."""
        return self.view.export(path)

    def focus_filter(self) -> None:
        """Ctrl+F: to the quick filter, its text selected."""
        self.filter.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter.selectAll()

    def export_dialog(self, suffix: str) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export", f"{self.level}{suffix}", f"*{suffix}")
        if name:
            self.export(Path(name))
