"""The execution blotter: every report from the brokers, newest first, live on order events."""

from __future__ import annotations

import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from engine.events import Event
from engine.views import trading
from ui.desk import Desk
from ui.panels.live_table import LiveTablePanel, _ids
from ui.panels.trade_columns import EXEC_COLUMNS, exec_frame


class ExecutionsPanel(LiveTablePanel):
    name = "executions"
    title = "Execution blotter"
    columns = EXEC_COLUMNS
    id_attrs = ("execution_id", "execution_ids")
    filters = [("status", "Status"), ("broker", "Broker"), ("mic", "Market"), ("account", "Account")]
    empty = "No executions yet — fills from brokers appear here as they arrive"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        self._orders: set[int] = set()
        super().__init__(desk, parent)

    def fetch(self, ids: list[int] | None) -> pd.DataFrame:
        return exec_frame(trading.executions(self.desk.database, ids))

    def _loaded(self, frame: pd.DataFrame) -> None:
        super()._loaded(frame)
        self.blotter.view.sortByColumn(0, Qt.SortOrder.DescendingOrder)  # newest report first

    def _on_events(self, events: list[Event]) -> None:
        # The OMS publishes OrderChanged(order_id) after each fill: re-read that order's executions.
        orders = _ids(events, "order_id", "order_ids")
        if orders and self.loaded:
            self._orders |= orders
            if not self._timer.isActive():
                self._timer.start()
        super()._on_events(events)

    def _reload_dirty(self) -> None:
        orders, self._orders = sorted(self._orders), set()
        ids, self._dirty = sorted(self._dirty), set()

        def fetch(_t: object) -> pd.DataFrame:
            frames = [trading.executions(self.desk.database, ids)] if ids else []
            if orders:
                frames.append(trading.executions(self.desk.database, order_ids=orders))
            return (
                exec_frame(pd.concat(frames, ignore_index=True))
                if frames
                else exec_frame(trading.executions(self.desk.database, []))
            )

        self._read("Updating executions", fetch, self.blotter.model.upsert)

    def _has_dirty(self) -> bool:
        return bool(self._dirty or self._orders)
