"""Market clock dock: sessions from exchange_calendars (loaded in a worker), open orders per market."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from ui.data import trading
from ui.data.markets import market_schedules
from ui.desk import Desk
from ui.panels.base import Panel
from widgets.market_clock import MarketClock, MarketSchedule


class ClockPanel(Panel):
    name = "clock"
    title = "Market clock"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.clock = MarketClock(desk.clock.now, desk.clock.user_tz)
        self.setWidget(self.clock)

    def load(self) -> None:
        def fetch(_t: object) -> tuple[list[MarketSchedule], dict[str, int]]:
            return market_schedules(self.desk.database, self.desk.clock.now()), trading.waiting_by_market(
                self.desk.database
            )

        self.desk.run("Loading exchange calendars", fetch, lambda r: self.clock.set_schedules(*r))

    def apply_theme(self, dark: bool) -> None:
        self.clock.dark = dark
        self.clock.view.viewport().update()
