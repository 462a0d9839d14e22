"""Performance and risk view: cumulative return vs a benchmark and the drawdown (pyqtgraph), with
the figures in a table beside the chart. Fed plain numbers; knows nothing about the engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics
from PySide6.QtWidgets import (
    QComboBox,
    QLineEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from widgets.columns import Column
from widgets.date_axis import DateAxis
from widgets.elided_label import ElidedLabel
from widgets.empty_state import EmptyStateStack
from widgets.flow_layout import FlowBar
from widgets.table_model import FrameTableModel
from widgets.table_view import DataTableView

RANGES = {"1 year": 365, "6 months": 182, "3 months": 91, "1 month": 31}
FIGURE_COLUMNS = [
    Column("measure", "Measure"),
    Column("value", "Value"),
    Column("note", "Definition"),
]
AXIS_TITLES = {"returns": ("Cumulative return (%)", "Return %"), "drawdown": ("Drawdown (%)", "DD %")}
ACCOUNT_PEN = "#3d7fc1"
BENCH_PEN = "#e08a1e"


def _seconds(index: pd.Index) -> np.ndarray:
    """Dates as POSIX seconds for pyqtgraph's DateAxisItem."""
    return (
        pd.DatetimeIndex(index)
        .tz_localize(None)
        .to_numpy(dtype="datetime64[s]")
        .astype(np.int64)
        .astype(float)
    )


class PerformanceChart(QWidget):
    """Account chooser, range and benchmark; the return and drawdown plots; the figures table."""

    request = Signal(int, int, str)
    """(account id, days, benchmark): the panel loads that and calls `set_data`."""

    def __init__(self, parent: QWidget | None = None, dark: bool = False) -> None:
        super().__init__(parent)
        self.titles: dict[str, str] = {}
        self.account = QComboBox()
        self.account.setEditable(True)
        self.account.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.account.setMinimumWidth(220)
        self.range = QComboBox()
        self.range.addItems(list(RANGES))
        self.benchmark = QLineEdit("model")
        self.benchmark.setToolTip("'model' (the account's model, rebalanced daily) or a security symbol")
        self.benchmark.setMinimumWidth(80)
        self.benchmark.setMaximumWidth(120)
        self.caption = ElidedLabel("")
        bar = FlowBar()
        for label, w in (("Account:", self.account), ("Range:", self.range), ("Benchmark:", self.benchmark)):
            bar.add_field(label, w)
        bar.add(self.caption, grow=True, min_width=160)
        self.account.activated.connect(lambda _i: self._emit())
        self.range.activated.connect(lambda _i: self._emit())
        self.benchmark.editingFinished.connect(self._emit)

        self.returns = pg.PlotWidget(axisItems={"bottom": DateAxis()})
        self.returns.getPlotItem().setLabel("left", "Cumulative return (%)")
        self.legend = self.returns.getPlotItem().addLegend(offset=(8, 8))
        self.drawdown = pg.PlotWidget(axisItems={"bottom": DateAxis()})
        self.drawdown.getPlotItem().setLabel("left", "Drawdown (%)")
        self.drawdown.getPlotItem().getViewBox().sigResized.connect(self._fit_labels)
        self.returns.getPlotItem().getViewBox().sigResized.connect(self._fit_labels)
        self.drawdown.setXLink(self.returns)
        for p in (self.returns, self.drawdown):
            p.setMenuEnabled(False)
            p.hideButtons()
            p.showGrid(x=True, y=True, alpha=0.15)
        self.account_curve = self.returns.plot([], [], name="account", pen=pg.mkPen(ACCOUNT_PEN, width=2))
        self.bench_curve = self.returns.plot([], [], name="benchmark", pen=pg.mkPen(BENCH_PEN, width=2))
        self.dd_curve = self.drawdown.plot(
            [], [], pen=pg.mkPen("#c62828", width=1), fillLevel=0, brush=QColor(198, 40, 40, 60)
        )
        charts = QSplitter(Qt.Orientation.Vertical)
        charts.addWidget(self.returns)
        charts.addWidget(self.drawdown)
        charts.setSizes([300, 110])
        self.figures = FrameTableModel(FIGURE_COLUMNS, key="measure")
        self.figures.clear()
        self.figures_view = DataTableView(self.figures)
        self.figures_view.setMinimumWidth(210)
        self.stack = EmptyStateStack(self.figures_view, self.figures, "Choose an account")
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(charts)
        split.addWidget(self.stack)
        split.setSizes([640, 260])
        split.setStretchFactor(0, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(bar)
        layout.addWidget(split, 1)
        self.apply_theme(dark)

    def _fit_labels(self, *_: object) -> None:
        """Axis titles run along the plot's height: a short one when the long one would be cut."""
        for which, plot in (("returns", self.returns), ("drawdown", self.drawdown)):
            long, short = AXIS_TITLES[which]
            axis = plot.getPlotItem().getAxis("left")
            room = plot.getPlotItem().getViewBox().height()
            text = long if QFontMetrics(axis.label.font()).horizontalAdvance(long) + 8 <= room else short
            if self.titles.get(which) != text:
                self.titles[which] = text
                axis.setLabel(text)
                axis.resizeEvent(None)  # re-centre the title for its new length now

    def axis_title(self, which: str) -> str:
        """The left axis title as drawn: the long one, or the short one on a short plot."""
        return self.titles.get(which, AXIS_TITLES[which][0])

    def set_accounts(self, accounts: list[tuple[int, str, str]]) -> None:
        self.account.clear()
        for aid, code, name in accounts:
            self.account.addItem(f"{code} · {name}", aid)

    def current(self) -> tuple[int, int, str] | None:
        aid = self.account.currentData()
        if aid is None:
            return None
        return int(aid), RANGES[self.range.currentText()], self.benchmark.text().strip() or "model"

    def _emit(self) -> None:
        cur = self.current()
        if cur is not None:
            self.request.emit(*cur)

    def set_series(
        self,
        growth: pd.Series,
        benchmark: pd.Series | None,
        bench_label: str | None,
        drawdown: pd.Series,
    ) -> None:
        """Growth-of-1 series (index: dates) drawn as cumulative return in percent."""
        x = _seconds(growth.index)
        self.account_curve.setData(x, (growth.to_numpy(dtype=float) - 1.0) * 100)
        if benchmark is not None:
            self.bench_curve.setData(_seconds(benchmark.index), (benchmark.to_numpy(dtype=float) - 1.0) * 100)
        else:
            self.bench_curve.setData([], [])
        self.legend.getLabel(self.bench_curve).setText(bench_label or "no benchmark")
        self.dd_curve.setData(x, drawdown.to_numpy(dtype=float) * 100)
        self.returns.getPlotItem().enableAutoRange()
        self.drawdown.getPlotItem().enableAutoRange()

    def set_figures(self, rows: list[tuple[str, str, str]], caption: str) -> None:
        self.figures.set_frame(pd.DataFrame(rows, columns=["measure", "value", "note"]))
        self.figures_view.fit_columns()
        self.caption.setText(f"  {caption}")
        self.caption.setToolTip(caption)

    def set_message(self, message: str) -> None:
        self.figures.clear()
        self.stack.set_message(message)
        self.account_curve.setData([], [])
        self.bench_curve.setData([], [])
        self.dd_curve.setData([], [])

    def apply_theme(self, dark: bool) -> None:
        fg = QColor("#d8d8d8") if dark else QColor("#202020")
        for p in (self.returns, self.drawdown):
            p.setBackground(QColor("#1e1f22") if dark else QColor("#ffffff"))
            for name in ("left", "bottom"):
                ax = p.getPlotItem().getAxis(name)
                ax.setPen(fg)
                ax.setTextPen(fg)
        self.legend.setLabelTextColor(fg)
