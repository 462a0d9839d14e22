"""A date axis that keeps its labels on a narrow chart: quarters when the months do not fit.

pyqtgraph's DateAxisItem shows a one-year range as the year and the months; on a chart a few
hundred pixels wide the month labels overlap, it drops that level, and the axis reads only
"2026". Here the months give way to quarters (Jan, Apr, Jul, Oct) before they give way to nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyqtgraph as pg
from pyqtgraph.graphicsItems import DateAxisItem as dai

QUARTER_SPACING = 3 * dai.MONTH_SPACING


def _quarter_stepper(val: float, n: int, first: bool) -> float:
    """The start of the quarter `n` quarters after the one holding `val` (UTC seconds)."""
    if val < dai.MIN_REGULAR_TIMESTAMP or val > dai.MAX_REGULAR_TIMESTAMP:
        return np.inf
    d = datetime.fromtimestamp(val, UTC)
    month0 = (d.month - 1) // 3 * 3 + 3 * n
    start = datetime(d.year + month0 // 12, month0 % 12 + 1, 1, tzinfo=UTC)
    return start.timestamp()


YEAR_QUARTER_ZOOM_LEVEL = dai.ZoomLevel(
    [
        dai.TickSpec(dai.YEAR_SPACING, dai.makeYStepper(1), "%Y", autoSkip=[1, 5, 10, 25]),
        dai.TickSpec(QUARTER_SPACING, _quarter_stepper, "%b"),
    ],
    "YYYY",
)


class DateAxis(pg.DateAxisItem):
    """DateAxisItem that shows quarters when the months would overlap."""

    def setZoomLevelForDensity(self, density: float) -> None:
        super().setZoomLevelForDensity(density)
        if self.zoomLevel is dai.YEAR_MONTH_ZOOM_LEVEL:
            label = self.fontMetrics.boundingRect("Mmm").width() + 12
            if dai.MONTH_SPACING / density < label <= QUARTER_SPACING / density:
                self.zoomLevel = YEAR_QUARTER_ZOOM_LEVEL
                self.zoomLevel.utcOffset = self.utcOffset

    def shown_labels(self, width: float) -> list[str]:
        """The labels drawn for the current range at `width` pixels (tests read them)."""
        lo, hi = self.range
        self.setZoomLevelForDensity((hi - lo) / max(width, 1))
        out: list[str] = []
        for spacing, ticks in self.tickValues(lo, hi, width):
            out += [s for s in self.tickStrings(ticks, 1.0, spacing) if s]
        return out
