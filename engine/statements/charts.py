"""The statement's charts drawn with reportlab.graphics (vector, no image files, deterministic):
the account's value over time and its allocation by asset class."""

from __future__ import annotations

from datetime import date
from typing import Any

from reportlab.graphics.charts.lineplots import LinePlot
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors

from engine.statements.fmt import Formatter

PALETTE = [
    colors.HexColor(c)
    for c in ("#1f4e79", "#2e86c1", "#48c9b0", "#f4d03f", "#e67e22", "#a569bd", "#7f8c8d", "#c0392b")
]


def value_chart(points: list[list[Any]], fmt: Formatter, width: float, height: float) -> Drawing:
    """Value in base currency by date (points: [iso date, value]), axes in the client's locale."""
    d = Drawing(width, height)
    d.add(String(0, height - 10, f"Value over time ({fmt.currency})", fontName="Helvetica-Bold", fontSize=9))
    if len(points) < 2:
        d.add(String(0, height / 2, "not enough history to draw", fontName="Helvetica", fontSize=8))
        return d
    xs = [date.fromisoformat(p[0]).toordinal() for p in points]
    lp = LinePlot()
    lp.x, lp.y, lp.width, lp.height = 58, 22, width - 70, height - 42
    lp.data = [list(zip(xs, [float(p[1]) for p in points]))]
    lp.lines[0].strokeColor = PALETTE[0]
    lp.lines[0].strokeWidth = 1.2
    lp.xValueAxis.valueMin, lp.xValueAxis.valueMax = xs[0], xs[-1]
    lp.xValueAxis.valueSteps = [xs[0], xs[len(xs) // 2], xs[-1]]
    lp.xValueAxis.labelTextFormat = lambda v: fmt.date(date.fromordinal(int(v)))
    lp.xValueAxis.labels.fontSize = 7
    lo, hi = min(p[1] for p in points), max(p[1] for p in points)
    pad = (hi - lo) * 0.08 or abs(hi) * 0.05 or 1.0
    lp.yValueAxis.valueMin, lp.yValueAxis.valueMax = lo - pad, hi + pad
    lp.yValueAxis.labelTextFormat = fmt.whole
    lp.yValueAxis.labels.fontSize = 7
    d.add(lp)
    return d


def allocation_chart(rows: list[dict[str, Any]], fmt: Formatter, width: float, height: float) -> Drawing:
    """A pie of the allocation by asset class with a legend of weights in the client's locale."""
    d = Drawing(width, height)
    d.add(String(0, height - 10, "Allocation by asset class", fontName="Helvetica-Bold", fontSize=9))
    shown = [r for r in rows if r["value_base"] > 0]
    if not shown:
        d.add(String(0, height / 2, "nothing held", fontName="Helvetica", fontSize=8))
        return d
    size = min(height - 30, width / 2 - 10)
    pie = Pie()
    pie.x, pie.y, pie.width, pie.height = 5, (height - 16 - size) / 2, size, size
    pie.data = [r["value_base"] for r in shown]
    pie.labels = None
    pie.strokeWidth = 0.5
    pie.strokeColor = colors.white
    for i in range(len(shown)):
        pie.slices[i].fillColor = PALETTE[i % len(PALETTE)]
    d.add(pie)
    x0, y = size + 20, height - 30
    for i, r in enumerate(shown):
        d.add(Rect(x0, y - 1, 8, 8, fillColor=PALETTE[i % len(PALETTE)], strokeColor=None))
        label = f"{r['asset_class'].replace('_', ' ')}  {fmt.percent(r['weight'])}"
        d.add(String(x0 + 12, y, label, fontName="Helvetica", fontSize=8))
        y -= 13
    return d
