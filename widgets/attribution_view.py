"""Brinson-Fachler attribution of one account: a table of segments (weights, local returns,
allocation, selection, interaction, currency) with a total row, and a horizontal bar chart of
each segment's effects. Fed the `report attribution` document; knows nothing about the engine."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics
from PySide6.QtWidgets import QComboBox, QSplitter, QVBoxLayout, QWidget

from widgets.columns import Column
from widgets.elided_label import ElidedLabel
from widgets.empty_state import EmptyStateStack
from widgets.flow_layout import FlowBar
from widgets.table_model import FrameTableModel
from widgets.table_view import DataTableView

EFFECTS = ("allocation", "selection", "interaction", "currency")
EFFECT_PENS = {
    "allocation": "#3d7fc1",
    "selection": "#e08a1e",
    "interaction": "#7b9e3a",
    "currency": "#9b59b6",
}
BY = {"Sector": "sector", "Currency": "currency", "Asset class": "asset_class"}
TOTAL = "Total"
COLUMNS = [
    Column("segment", "Segment"),
    Column("wp", "Weight", "pct", tooltip="the account's average start-of-day weight"),
    Column("wb", "Bench. weight", "pct", tooltip="the model's average start-of-day weight"),
    Column("rp", "Return", "drift", tooltip="the segment's local-currency return in the account"),
    Column("rb", "Bench. return", "drift", tooltip="the segment's local-currency return in the model"),
    Column("allocation", "Allocation", "drift", signed=True),
    Column("selection", "Selection", "drift", signed=True),
    Column("interaction", "Interaction", "drift", signed=True),
    Column("currency", "Currency", "drift", signed=True),
    Column("total", "Total", "drift", signed=True, tooltip="the segment's share of the active return"),
]


def segment_frame(doc: dict[str, Any]) -> pd.DataFrame:
    """The document's segments with each one's total effect, and a total row (local returns of the
    whole account and model, the summed effects, their sum: the active return less the residual)."""
    rows = [{**{c.key: r.get(c.key) for c in COLUMNS if c.key != "total"}, "total": sum(r[e] for e in EFFECTS)}
            for r in doc["segments"]]  # fmt: skip
    t = doc["totals"]
    effects = {e: t[e] for e in EFFECTS[:3]} | {"currency": doc["currency_effect"]}
    rows.append(
        {
            "segment": TOTAL,
            "wp": 1.0,
            "wb": 1.0,
            "rp": doc["portfolio_local_return"],
            "rb": doc["benchmark_local_return"],
            **effects,
            "total": sum(effects.values()),
        }
    )
    return pd.DataFrame(rows, columns=[c.key for c in COLUMNS])


class AttributionView(QWidget):
    """Grouping chooser and caption; the segments table; the effects as bars per segment."""

    request = Signal(str)
    """The grouping (sector, currency, asset_class) the user chose: the panel loads it."""

    def __init__(self, parent: QWidget | None = None, dark: bool = False) -> None:
        super().__init__(parent)
        self.by = QComboBox()
        self.by.addItems(list(BY))
        self.by.activated.connect(lambda _i: self.request.emit(self.grouping()))
        self.caption = ElidedLabel("")
        bar = FlowBar()
        bar.add_field("By:", self.by)
        bar.add(self.caption, grow=True, min_width=200)
        self.model = FrameTableModel(COLUMNS, key="segment")
        self.model.clear()
        self.table = DataTableView(self.model)
        self.stack = EmptyStateStack(self.table, self.model, "Choose an account")
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.showGrid(x=True, y=False, alpha=0.15)
        self.plot.getPlotItem().setLabel("bottom", "Effect (% of start value)")
        self.legend = self.plot.getPlotItem().addLegend(offset=(8, 4), colCount=len(EFFECTS))
        self.bars: dict[str, pg.BarGraphItem] = {}
        for e in EFFECTS:
            item = pg.BarGraphItem(x0=[], y=[], height=0.1, width=[], brush=QColor(EFFECT_PENS[e]),
                                   pen=pg.mkPen(None), name=e)  # fmt: skip
            self.plot.getPlotItem().addItem(item)  # named: the legend lists it
            self.bars[e] = item
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.stack)
        split.addWidget(self.plot)
        split.setSizes([220, 260])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(bar)
        layout.addWidget(split, 1)
        self.apply_theme(dark)

    def grouping(self) -> str:
        return BY[self.by.currentText()]

    def set_document(self, doc: dict[str, Any]) -> None:
        """Show a `report attribution` document: the table, the bars and the identity in the caption."""
        frame = segment_frame(doc)
        self.model.set_frame(frame)
        self.table.fit_columns()
        self._draw(frame[frame["segment"] != TOTAL])
        text = (
            f"{doc['account']} · {doc['base_currency']} · {doc['from']} → {doc['to']} vs {doc['benchmark']}: "
            f"portfolio {doc['portfolio_return'] * 100:+.2f}% − benchmark {doc['benchmark_return'] * 100:+.2f}% "
            f"= active {doc['active_return'] * 100:+.2f}% (residual {doc['residual'] * 100:+.4f}%)"
        )
        self.caption.setText(f"  {text}")
        self.caption.setToolTip(text)

    def _draw(self, frame: pd.DataFrame) -> None:
        plot = self.plot.getPlotItem()
        n = len(frame)
        y = np.arange(n, dtype=float)[::-1]  # the first segment on top, as in the table
        height = 0.8 / len(EFFECTS)
        for k, e in enumerate(EFFECTS):
            values = frame[e].to_numpy(dtype=float) * 100
            self.bars[e].setOpts(
                x0=np.minimum(values, 0.0),
                y=y + 0.4 - height * (k + 0.5),
                height=height,
                width=np.abs(values),
            )
        left = plot.getAxis("left")
        left.setTicks([[(float(v), str(s)) for v, s in zip(y, frame["segment"])]])
        # The axis as wide as the longest segment name (pyqtgraph would cut "Information Technology").
        widest = max((QFontMetrics(left.style.get("tickFont") or self.font()).horizontalAdvance(str(s))
                      for s in frame["segment"]), default=0)  # fmt: skip
        left.setWidth(widest + 16)
        plot.enableAutoRange(axis="x")
        plot.setYRange(-0.6, n + 1.3, padding=0)  # room at the top for the legend

    def set_message(self, message: str) -> None:
        self.model.clear()
        self.stack.set_message(message)
        self.caption.setText("")
        self._draw(pd.DataFrame(columns=["segment", *EFFECTS]))

    def apply_theme(self, dark: bool) -> None:
        fg = QColor("#d8d8d8") if dark else QColor("#202020")
        self.plot.setBackground(QColor("#1e1f22") if dark else QColor("#ffffff"))
        for name in ("left", "bottom"):
            ax = self.plot.getPlotItem().getAxis(name)
            ax.setPen(fg)
            ax.setTextPen(fg)
        self.legend.setLabelTextColor(fg)
