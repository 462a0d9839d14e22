"""Drift heatmap (pyqtgraph): accounts along x, buckets down y, diverging colours centred at zero.

Handles 10,000 accounts as one ImageItem (zoom with the wheel or a drag, labels thin out to fit);
for a few dozen accounts the Table tab shows the same numbers as a sortable grid. Hover shows
the numbers, a click emits `account_clicked(account_id)`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QFont, QFontMetrics
from PySide6.QtWidgets import QComboBox, QTabWidget, QToolTip, QVBoxLayout, QWidget

from widgets.columns import Column
from widgets.elided_label import ElidedLabel
from widgets.empty_state import EmptyStateStack
from widgets.flow_layout import FlowBar
from widgets.table_model import FrameTableModel
from widgets.table_view import DataTableView

TABLE_LIMIT = 60
COLORBAR_TITLES = ("drift: weight − model (percentage points)", "drift (pct points)", "pts")


def diverging_map(dark: bool) -> pg.ColorMap:
    """Blue (under model) - neutral - red (over model); the neutral matches the theme."""
    mid = (60, 60, 64) if dark else (247, 247, 247)
    return pg.ColorMap(
        [0.0, 0.25, 0.5, 0.75, 1.0],
        [(33, 102, 172), (103, 169, 207), mid, (239, 138, 98), (178, 24, 43)],
    )


class LabelAxis(pg.AxisItem):
    """An axis whose integer ticks are labelled with names, thinned to what fits."""

    def __init__(self, orientation: str, min_spacing: int = 14) -> None:
        super().__init__(orientation)
        self.names: list[str] = []
        self.min_spacing = min_spacing

    def set_names(self, names: list[str]) -> None:
        self.names = list(names)
        self.picture = None
        self.update()

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:
        if not self.names:
            return []
        minVal, maxVal = sorted((minVal, maxVal))  # an inverted axis passes them swapped
        lo = max(0, int(np.floor(minVal)))
        hi = min(len(self.names) - 1, int(np.ceil(maxVal)))
        if hi < lo:
            return []
        span = max(1, hi - lo + 1)
        step = max(1, int(np.ceil(span * self.min_spacing / max(size, 1))))
        return [(step, [v + 0.5 for v in range(lo - lo % step, hi + 1, step) if v >= lo])]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        out = []
        for v in values:
            i = int(np.floor(v))
            out.append(self.names[i] if 0 <= i < len(self.names) else "")
        return out


class DriftHeatmap(QWidget):
    """The map and the table of one drift matrix; `set_matrix` replaces both."""

    account_clicked = Signal(int)
    bucket_kind_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None, dark: bool = False) -> None:
        super().__init__(parent)
        self.dark = dark
        self.values = np.zeros((0, 0))
        self.weights = self.values
        self.targets = self.values
        self.bands = np.zeros(0)
        self.account_ids = np.zeros(0, dtype=int)
        self.codes: list[str] = []
        self.buckets: list[str] = []
        self.limit = 0.05
        self.rows_updated = 0
        """Account rows replaced by `update_rows` (not a whole redraw), for tests and benchmarks."""
        self.kind = QComboBox()
        self.kind.addItems(["sector", "asset class", "currency"])
        self.kind.currentTextChanged.connect(self.bucket_kind_changed.emit)
        self.summary = ElidedLabel("")
        bar = FlowBar()
        bar.add_field("Buckets:", self.kind)
        bar.add(self.summary, grow=True, min_width=160)

        self.bottom = LabelAxis("bottom", min_spacing=64)
        self.left = LabelAxis("left", min_spacing=16)
        self.plot_widget = pg.GraphicsLayoutWidget()
        self.plot = self.plot_widget.addPlot(axisItems={"bottom": self.bottom, "left": self.left})
        self.plot.invertY(True)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.getViewBox().setMouseEnabled(x=True, y=False)
        self.plot.getViewBox().setLimits(xMin=0, yMin=0)
        self.image = pg.ImageItem(axisOrder="col-major")
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(
            values=(-self.limit, self.limit),
            colorMap=diverging_map(dark),
            interactive=False,
            label=COLORBAR_TITLES[0],
            width=14,
        )
        self.colorbar.setImageItem(self.image, insert_in=self.plot)
        self.colorbar_title = COLORBAR_TITLES[0]
        self.label_font = QFont(self.font())
        self.plot.getViewBox().sigResized.connect(self._fit_labels)
        self.plot_widget.scene().sigMouseMoved.connect(self._hover)
        self.plot_widget.scene().sigMouseClicked.connect(self._click)

        self.table_model = FrameTableModel([Column("code", "Account")], key="account_id")
        self.table_view = DataTableView(self.table_model)
        self.table_view.doubleClicked.connect(
            lambda idx: self.account_clicked.emit(int(self.table_model.value(idx.row(), "account_id")))
        )
        self.table_view.drill = (
            "Open account",
            lambda idx: self.account_clicked.emit(int(self.table_model.value(idx.row(), "account_id"))),
        )
        self.table_view.export_name = "drift"
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.map_stack = EmptyStateStack(self.plot_widget, self.table_model, "Loading the book…")
        self.tabs.addTab(self.map_stack, "Map")
        self.tabs.addTab(
            EmptyStateStack(self.table_view, self.table_model, "No accounts"), f"Table (worst {TABLE_LIMIT})"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(bar)
        layout.addWidget(self.tabs, 1)
        self.apply_theme(dark)

    def _fit_labels(self, *_: object) -> None:
        """Every bucket keeps its label at any height: the row labels' font shrinks (down to 6 pt)
        to the row height before any label is dropped, and the colour bar's title is the short
        one when the long one would be cut."""
        vb = self.plot.getViewBox()
        rows = max(len(self.buckets), 1)
        row_px = vb.height() / rows
        font = QFont(self.font())
        size = font.pointSizeF() if font.pointSizeF() > 0 else 9.0
        fm = QFontMetrics(font)
        while fm.height() > row_px and size > 6.0:
            size -= 0.5
            font.setPointSizeF(size)
            fm = QFontMetrics(font)
        if font != self.label_font:
            self.label_font = font
            self.left.setStyle(tickFont=font)
        self.left.min_spacing = max(1, min(16, fm.height() - 1))
        self.left.setWidth(max((fm.horizontalAdvance(b) for b in self.buckets), default=40) + 14)
        self.left.picture = None
        self.left.update()
        bar_font = QFontMetrics(self.colorbar.getAxis("left").label.font())
        title = next(
            (t for t in COLORBAR_TITLES if bar_font.horizontalAdvance(t) + 16 <= vb.height()),
            COLORBAR_TITLES[-1],
        )
        if title != self.colorbar_title:
            self.colorbar_title = title
            axis = self.colorbar.getAxis("left")
            axis.setLabel(title)
            axis.resizeEvent(None)  # re-centre the label for its new length now, not on the next resize

    def shown_bucket_labels(self) -> list[str]:
        """The row labels the axis draws at its current size (tests read them)."""
        lo, hi = self.plot.getViewBox().viewRange()[1]
        ticks = self.left.tickValues(lo, hi, self.plot.getViewBox().height())
        values = ticks[0][1] if ticks else []
        return [t for t in self.left.tickStrings(values, 1.0, 1.0) if t]

    def apply_theme(self, dark: bool) -> None:
        self.dark = dark
        fg = QColor("#d8d8d8") if dark else QColor("#202020")
        bg = QColor("#1e1f22") if dark else QColor("#ffffff")
        self.plot_widget.setBackground(bg)
        for axis in (self.bottom, self.left, self.colorbar.axis):
            axis.setPen(fg)
            axis.setTextPen(fg)
        self.colorbar.setColorMap(diverging_map(dark))

    def set_matrix(
        self,
        account_ids: np.ndarray,
        codes: list[str],
        buckets: list[str],
        values: np.ndarray,
        weights: np.ndarray,
        targets: np.ndarray,
        bands: np.ndarray,
    ) -> None:
        """Show accounts (rows of `values`) x buckets, worst-drifting accounts first."""
        order = np.argsort(-np.abs(values).max(axis=1), kind="stable") if len(values) else np.zeros(0, int)
        self.account_ids = np.asarray(account_ids)[order]
        self.codes = [codes[i] for i in order]
        self.buckets = list(buckets)
        self.values = values[order]
        self.weights = weights[order]
        self.targets = targets[order]
        self.bands = np.asarray(bands)[order]
        finite = np.abs(self.values[np.isfinite(self.values)])
        self.limit = float(max(np.percentile(finite, 99) if finite.size else 0.0, 0.005))
        self._paint()
        self.bottom.set_names(self.codes)
        self.left.set_names(self.buckets)
        self._fit_labels()
        n, m = self.values.shape if self.values.size else (0, 0)
        vb = self.plot.getViewBox()
        vb.setLimits(xMin=0, xMax=max(n, 1), yMin=0, yMax=max(m, 1), minXRange=min(5, max(n, 1)))
        vb.setRange(xRange=(0, max(n, 1)), yRange=(0, max(m, 1)), padding=0)
        self._summarize()
        self._fill_table()

    def _paint(self) -> None:
        pts = self.limit * 100
        self.image.setImage(self.values * 100, levels=(-pts, pts), autoLevels=False)
        self.colorbar.setLevels((-pts, pts))

    def _summarize(self) -> None:
        n, m = self.values.shape if self.values.size else (0, 0)
        out = int((np.abs(self.values).max(axis=1) > self.bands).sum()) if n else 0
        self.summary.setText(
            f"  {n:,} accounts × {m} buckets; {out:,} with a bucket beyond its band; "
            f"colour scale ±{self.limit * 100:.1f} pts. Scroll or drag to zoom; click an account."
        )

    def update_rows(
        self,
        account_ids: np.ndarray,
        buckets: list[str],
        values: np.ndarray,
        weights: np.ndarray,
        targets: np.ndarray,
        bands: np.ndarray,
    ) -> bool:
        """Replace the rows of these accounts where they stand (the columns do not move under the
        user's pointer; the colour scale stays). False when the rows do not fit this matrix
        (other buckets, an account it does not show): the caller redraws the whole matrix."""
        if list(buckets) != self.buckets or not len(self.account_ids):
            return False
        where = {int(a): i for i, a in enumerate(self.account_ids.tolist())}
        rows = [where.get(int(a), -1) for a in np.asarray(account_ids).tolist()]
        if any(r < 0 for r in rows):
            return False
        self.values[rows] = values
        self.weights[rows] = weights
        self.targets[rows] = targets
        self.bands[rows] = bands
        self.rows_updated += len(rows)
        self._paint()
        self._summarize()
        self._update_table(rows)
        return True

    def _update_table(self, rows: list[int]) -> None:
        """The table lists the worst TABLE_LIMIT accounts of the last whole draw: rows of those
        accounts are re-read by key (the model's ranged update), the others are not in it."""
        shown = [r for r in rows if r < TABLE_LIMIT]
        if not shown:
            return
        frame = pd.DataFrame({"account_id": self.account_ids[shown], "code": [self.codes[r] for r in shown]})
        for j in range(len(self.buckets)):
            frame[f"b{j}"] = self.values[shown, j]
        self.table_model.upsert(frame)

    def _fill_table(self) -> None:
        cols = [Column("code", "Account")] + [
            Column(f"b{j}", b, "drift", signed=True) for j, b in enumerate(self.buckets)
        ]
        frame = pd.DataFrame({"account_id": self.account_ids, "code": self.codes})
        for j in range(len(self.buckets)):
            frame[f"b{j}"] = self.values[:, j] if len(self.values) else []
        self.table_model.columns = cols
        self.table_model.set_frame(frame.head(max(TABLE_LIMIT, 0)) if len(frame) > TABLE_LIMIT else frame)
        self.table_view.fit_columns()

    def cell_at(self, scene_pos: QPointF) -> tuple[int, int] | None:
        if not self.plot.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.plot.getViewBox().mapSceneToView(scene_pos)
        i, j = int(np.floor(p.x())), int(np.floor(p.y()))
        if 0 <= i < self.values.shape[0] and 0 <= j < self.values.shape[1]:
            return i, j
        return None

    def describe(self, i: int, j: int) -> str:
        return (
            f"<b>{self.codes[i]}</b> · {self.buckets[j]}<br>"
            f"weight {self.weights[i, j] * 100:.2f}% vs model {self.targets[i, j] * 100:.2f}%<br>"
            f"drift <b>{self.values[i, j] * 100:+.2f} pts</b> (band ±{self.bands[i] * 100:.1f})"
        )

    def _hover(self, pos: QPointF) -> None:
        cell = self.cell_at(pos)
        if cell is None:
            QToolTip.hideText()
            return
        QToolTip.showText(QCursor.pos(), self.describe(*cell), self.plot_widget)

    def _click(self, event: object) -> None:
        pos = event.scenePos()  # type: ignore[attr-defined]
        cell = self.cell_at(pos)
        if cell is not None and event.button() == Qt.MouseButton.LeftButton:  # type: ignore[attr-defined]
            self.account_clicked.emit(int(self.account_ids[cell[0]]))
