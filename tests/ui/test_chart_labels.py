"""Charts keep their labels at small sizes: every heatmap row label, a colour-bar title that fits,
dates on a narrow performance axis (quarters when months do not fit), and axis titles that fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
from PySide6.QtWidgets import QApplication

from widgets.drift_heatmap import COLORBAR_TITLES, DriftHeatmap
from widgets.performance_chart import PerformanceChart

SECTORS = [
    "Communication Services", "Consumer Discretionary", "Consumer Staples", "Energy", "Financials",
    "Fixed Income", "Health Care", "Industrials", "Information Technology", "Materials",
    "Multi-Sector", "Real Estate", "Utilities", "Cash",
]  # fmt: skip


def settle(widget, width: int, height: int) -> None:  # type: ignore[no-untyped-def]
    widget.resize(width, height)
    widget.show()
    for _ in range(5):
        QApplication.processEvents()


def test_heatmap_keeps_every_row_label_and_its_colour_bar_title(qtbot) -> None:  # type: ignore[no-untyped-def]
    heat = DriftHeatmap()
    qtbot.addWidget(heat)
    rng = np.random.default_rng(3)
    n, m = 200, len(SECTORS)
    values = rng.normal(0, 0.01, (n, m))
    heat.set_matrix(np.arange(n), [f"A{i:06d}" for i in range(n)], SECTORS, values, values + 0.05,
                    np.full((n, m), 0.05), np.full(n, 0.05))  # fmt: skip
    settle(heat, 640, 300)  # the heatmap dock on a 1280x720 screen
    assert heat.plot.getViewBox().height() < 16 * m  # too short for the default spacing
    assert heat.shown_bucket_labels() == SECTORS
    assert heat.colorbar_title != COLORBAR_TITLES[0]
    settle(heat, 1400, 900)
    assert heat.shown_bucket_labels() == SECTORS
    assert heat.colorbar_title == COLORBAR_TITLES[0]


def test_performance_axis_keeps_dates_on_a_narrow_chart(qtbot) -> None:  # type: ignore[no-untyped-def]
    chart = PerformanceChart()
    qtbot.addWidget(chart)
    days = pd.bdate_range("2025-10-30", "2026-10-30")
    growth = pd.Series(np.linspace(1.0, 1.07, len(days)), index=days)
    chart.set_series(growth, growth * 1.01, "model", growth - growth.cummax())
    settle(chart, 900, 420)
    axis = chart.returns.getPlotItem().getAxis("bottom")
    wide = axis.shown_labels(axis.width())
    assert {"2026", "Apr", "Jul", "Oct", "Nov"} <= set(wide) and len(wide) >= 10  # months
    settle(chart, 560, 420)  # the performance dock on a 1280x720 screen
    width = axis.width()
    assert 160 < width < 300, width
    narrow = axis.shown_labels(width)
    assert "2026" in narrow and {"Apr", "Jul", "Oct"} <= set(narrow)  # quarters, not only "2026"
    fm = axis.fontMetrics
    assert sum(fm.boundingRect(t).width() + 10 for t in narrow) <= width  # they fit: none is dropped
    assert chart.axis_title("drawdown") == "DD %"  # the drawdown plot is too short for its title
    settle(chart, 900, 900)
    assert chart.axis_title("drawdown") == "Drawdown (%)"
