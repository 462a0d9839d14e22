"""Broker sessions: each FIX session's state as the OMS reports it (BrokerSessionChanged events).

The desk does not own FIX sessions (the OMS process does); this panel shows what the OMS
publishes on the bus: logged on or off, next sequence numbers, the last session message.
"""

from __future__ import annotations

import pandas as pd
from PySide6.QtWidgets import QWidget

from engine.events import Event
from engine.oms.events import BrokerSessionChanged
from ui.desk import Desk
from ui.panels.base import Panel
from widgets.blotter import Blotter
from widgets.columns import Column

SESSION_COLUMNS = [
    Column("broker", "Broker"),
    Column("status", "Session"),
    Column("next_sender_seq", "Next out seq", "int"),
    Column("next_target_seq", "Next in seq", "int"),
    Column("kind", "Last message"),
    Column("at", "At", "datetime"),
]


def session_rows(events: list[Event]) -> pd.DataFrame:
    rows = [
        {
            "broker": e.broker,
            "status": "logged_on" if e.logged_on else "logged_off",
            "next_sender_seq": e.next_sender_seq,
            "next_target_seq": e.next_target_seq,
            "kind": e.kind,
            "at": e.occurred_at,
        }
        for e in events
        if isinstance(e, BrokerSessionChanged)
    ]
    return pd.DataFrame(rows, columns=[c.key for c in SESSION_COLUMNS])


class SessionsPanel(Panel):
    name = "sessions"
    title = "Broker sessions"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.blotter = Blotter(
            SESSION_COLUMNS,
            "broker",
            "No broker session has reported yet — sessions appear here when the OMS logs on to a broker",
            [("status", "Session")],
        )
        self.blotter.model.clear()
        self.setWidget(self.blotter)
        desk.bridge.batch.connect(self._on_events)

    def _on_events(self, events: list[Event]) -> None:
        rows = session_rows(events)
        if len(rows):
            self.blotter.model.upsert(rows)

    def apply_theme(self, dark: bool) -> None:
        self.blotter.dark = dark
        self.blotter.view.viewport().update()
