"""FX exposure: per-currency bars (% of portfolio) beside a table of exposure, today's FX move, hedges."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QSplitter, QVBoxLayout, QWidget

from engine.reports.numbers import allocate_money, weights
from widgets.columns import Column
from widgets.drift_heatmap import LabelAxis
from widgets.elided_label import ElidedLabel
from widgets.empty_state import EmptyStateStack
from widgets.flow_layout import FlowBar
from widgets.formatting import fmt_money
from widgets.table_model import FrameTableModel
from widgets.table_view import DataTableView

FX_COLUMNS = [
    Column("currency", "Currency"),
    Column("exposure", "Exposure", "amount", "view_currency", tooltip="positions plus cash, net of hedges"),
    Column("pct", "% of portfolio", "pct"),
    Column(
        "change_today",
        "FX move today",
        "amount",
        "view_currency",
        signed=True,
        tooltip="local amounts x change in rate between the last two fixings",
    ),
    Column("hedge_ratio", "Hedge ratio", "pct", tooltip="no FX hedges are booked in this book"),
    Column("positions", "Positions", "amount", "view_currency"),
    Column("cash", "Cash", "amount", "view_currency"),
    Column("local", "Amount (local)", "money", "currency"),
]


def shown_exposure(frame: pd.DataFrame, currency: str) -> pd.DataFrame:
    """Exposure lines rounded together to the currency's minor unit (they add up to the total in
    the caption) and % of portfolio rounded together (they add up to 100.00%)."""
    if frame.empty:
        return frame
    out = frame.copy()
    out["exposure"] = [float(v) for v in allocate_money(out["exposure"].tolist(), currency)]
    out["pct"] = [float(w) for w in weights(out["pct"].tolist(), 4)]
    return out


class FxExposurePanel(QWidget):
    """Scope chooser (firm / household / account), bar chart and table."""

    scope_changed = Signal(str, str)

    def __init__(self, parent: QWidget | None = None, dark: bool = False) -> None:
        super().__init__(parent)
        self.scope_kind = QComboBox()
        self.scope_kind.addItems(["firm", "household", "account"])
        self.scope_key = QComboBox()
        self.scope_key.setEditable(True)
        self.scope_key.setMinimumWidth(140)
        self.scope_key.setEnabled(False)
        self.caption = ElidedLabel("")
        self._keys: dict[str, list[str]] = {"household": [], "account": []}
        self.scope_kind.currentTextChanged.connect(self._kind_changed)
        self.scope_key.activated.connect(lambda _i: self._emit())
        bar = FlowBar()
        scope = bar.add_field("Scope:", self.scope_kind)
        scope.layout().addWidget(self.scope_key)
        bar.add(self.caption, grow=True, min_width=160)
        self.model = FrameTableModel(FX_COLUMNS, key="currency")
        self.view = DataTableView(self.model)
        self.axis = LabelAxis("bottom", min_spacing=30)
        self.chart = pg.PlotWidget(axisItems={"bottom": self.axis})
        self.chart.setMenuEnabled(False)
        self.chart.hideButtons()
        self.chart.setMouseEnabled(x=False, y=False)
        self.chart.getPlotItem().setLabel("left", "% of portfolio")
        self.bars: pg.BarGraphItem | None = None
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.chart)
        split.addWidget(EmptyStateStack(self.view, self.model, "Loading the book…"))
        split.setSizes([220, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(bar)
        layout.addWidget(split, 1)
        self.apply_theme(dark)

    def apply_theme(self, dark: bool) -> None:
        self.dark = dark
        fg = QColor("#d8d8d8") if dark else QColor("#202020")
        self.chart.setBackground(QColor("#1e1f22") if dark else QColor("#ffffff"))
        for name in ("left", "bottom"):
            ax = self.chart.getPlotItem().getAxis(name)
            ax.setPen(fg)
            ax.setTextPen(fg)

    def set_scopes(self, households: list[str], accounts: list[str]) -> None:
        self._keys = {"household": households, "account": accounts}
        self._kind_changed(self.scope_kind.currentText(), emit=False)

    def _kind_changed(self, kind: str, emit: bool = True) -> None:
        self.scope_key.clear()
        keys = self._keys.get(kind, [])
        self.scope_key.addItems(keys)
        self.scope_key.setEnabled(kind != "firm")
        if emit:
            self._emit()

    def _emit(self) -> None:
        kind = self.scope_kind.currentText()
        self.scope_changed.emit(kind, "" if kind == "firm" else self.scope_key.currentText())

    def set_exposure(self, frame: pd.DataFrame, label: str, currency: str, fixings: str) -> None:
        """Rows per currency; money columns other than the local amount are in `currency`."""
        titles = {
            "positions": "Positions",
            "cash": "Cash",
            "exposure": "Exposure",
            "change_today": "FX move today",
        }
        self.model.columns = [
            replace(c, title=f"{titles[c.key]} ({currency})") if c.key in titles else c for c in FX_COLUMNS
        ]
        frame = shown_exposure(frame, currency).assign(view_currency=currency)
        self.model.set_frame(frame)
        self.view.fit_columns()
        total = float(frame["exposure"].sum()) if len(frame) else 0.0
        self.caption.setText(f"  {label}: {fmt_money(total, currency)} · FX move {fixings}")
        self.axis.set_names(frame["currency"].tolist())
        if self.bars is not None:
            self.chart.removeItem(self.bars)
        x = np.arange(len(frame)) + 0.5
        heights = frame["pct"].to_numpy(dtype=float) * 100 if len(frame) else np.zeros(0)
        self.bars = pg.BarGraphItem(x=x, height=heights, width=0.7, brush=QColor("#3d7fc1"))
        self.chart.addItem(self.bars)
        self.chart.setXRange(0, max(len(frame), 1), padding=0.02)
        self.chart.setYRange(
            min(0.0, float(heights.min()) if len(heights) else 0.0),
            max(1.0, float(heights.max()) if len(heights) else 1.0) * 1.1,
        )
