"""Market clock dock: sessions from exchange_calendars (loaded in a worker), open orders per market.

The orders waiting on each market are re-counted (in a worker, at most every two seconds) when the
OMS reports order changes, so the column follows the blotter."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from engine.events import Event
from engine.views import trading
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
        self._recount = QTimer(self)
        self._recount.setSingleShot(True)
        self._recount.setInterval(2000)
        self._recount.timeout.connect(self.recount)
        desk.bridge.batch.connect(self._on_events)

    def load(self) -> None:
        def fetch(_t: object) -> tuple[list[MarketSchedule], dict[str, int]]:
            return market_schedules(self.desk.database, self.desk.clock.now()), trading.waiting_by_market(
                self.desk.database
            )

        self.desk.run("Loading exchange calendars", fetch, lambda r: self.clock.set_schedules(*r))

    def _on_events(self, events: list[Event]) -> None:
        if self.loaded and any(hasattr(e, "order_id") for e in events) and not self._recount.isActive():
            self._recount.start()

    def recount(self) -> None:
        """Re-count the open orders per market (a worker); the next clock tick shows them."""

        def done(waiting: dict[str, int]) -> None:
            self.clock.waiting = waiting
            self.clock.tick()

        self.desk.run(
            "Counting orders per market", lambda _t: trading.waiting_by_market(self.desk.database), done
        )

    def apply_theme(self, dark: bool) -> None:
        self.clock.dark = dark
        self.clock.view.viewport().update()
