"""Market clock: each market's local time, open or closed, time to the next open or close, orders waiting.

Session times come precomputed (UTC opens and closes from exchange_calendars, done in a worker);
the widget only does a searchsorted per market on its one-second tick.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from widgets.columns import Column
from widgets.empty_state import EmptyStateStack
from widgets.table_model import FrameTableModel
from widgets.table_view import DataTableView

CLOCK_COLUMNS = [
    Column("mic", "Market"),
    Column("local_time", "Local time"),
    Column("status", "Status"),
    Column("next_event", "Next"),
    Column("waiting", "Waiting", "int", tooltip="open orders waiting on this market"),
    Column("name", "Name"),
]


@dataclass(frozen=True)
class MarketSchedule:
    """One market's sessions: sorted UTC opens and closes (numpy datetime64[s])."""

    mic: str
    name: str
    timezone: str
    opens: np.ndarray
    closes: np.ndarray


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    days, rem = divmod(minutes, 1440)
    hours, mins = divmod(rem, 60)
    if days:
        return f"{days}d {hours}h {mins:02d}m"
    return f"{hours}h {mins:02d}m"


def market_state(s: MarketSchedule, now: datetime) -> tuple[str, str]:
    """('open'|'closed', 'closes in 2h 10m' / 'opens in 14h 02m') at `now`."""
    t = np.datetime64(now.astimezone(UTC).replace(tzinfo=None), "s")
    i = int(np.searchsorted(s.opens, t, side="right")) - 1
    if i >= 0 and t < s.closes[i]:
        return "open", f"closes in {_span(float((s.closes[i] - t) / np.timedelta64(1, 's')))}"
    if i + 1 < len(s.opens):
        return "closed", f"opens in {_span(float((s.opens[i + 1] - t) / np.timedelta64(1, 's')))}"
    return "closed", "no session in the loaded calendar"


def clock_rows(
    schedules: list[MarketSchedule], now: datetime, waiting: dict[str, int], user_tz: ZoneInfo
) -> pd.DataFrame:
    rows = []
    for s in schedules:
        status, nxt = market_state(s, now)
        local = now.astimezone(ZoneInfo(s.timezone))
        rows.append(
            {
                "mic": s.mic,
                "name": s.name,
                "local_time": local.strftime("%a %H:%M:%S %Z"),
                "status": status,
                "next_event": nxt,
                "waiting": int(waiting.get(s.mic, 0)),
            }
        )
    return pd.DataFrame(rows, columns=[c.key for c in CLOCK_COLUMNS])


class MarketClock(QWidget):
    """Ticks once a second; `now_fn` is the engine clock's now (a ManualClock in tests)."""

    def __init__(
        self, now_fn: Callable[[], datetime], user_tz: ZoneInfo, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.now_fn = now_fn
        self.user_tz = user_tz
        self.schedules: list[MarketSchedule] = []
        self.waiting: dict[str, int] = {}
        self.model = FrameTableModel(CLOCK_COLUMNS, key="mic", flush_ms=0)
        self.model.background_fn = self._status_colour
        self.view = DataTableView(self.model)
        self.header = QLabel("")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 0)
        layout.setSpacing(2)
        layout.addWidget(self.header)
        layout.addWidget(EmptyStateStack(self.view, self.model, "Loading exchange calendars…"), 1)
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        self.dark = False

    def _status_colour(self, model: FrameTableModel, row: int) -> QColor | None:
        if model.raw(row, "status") == "open":
            return QColor("#1b3d26") if self.dark else QColor("#e8f5e9")
        return None

    def set_schedules(self, schedules: list[MarketSchedule], waiting: dict[str, int]) -> None:
        self.schedules = schedules
        self.waiting = waiting
        self.model.set_frame(clock_rows(schedules, self.now_fn(), waiting, self.user_tz))
        self.view.fit_columns()
        self.tick()

    def tick(self) -> None:
        now = self.now_fn()
        user = now.astimezone(self.user_tz)
        self.header.setText(
            f"Your time: {user.strftime('%a %Y-%m-%d %H:%M:%S %Z')}   ·   UTC {now.astimezone(UTC).strftime('%H:%M:%S')}"
        )
        if self.schedules:
            self.model.upsert(clock_rows(self.schedules, now, self.waiting, self.user_tz))
            self.model.flush()
