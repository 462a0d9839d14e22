"""Broker sessions: each FIX session's state, live, with connect and disconnect.

The desk's OMS link (ui.oms_link) owns the FIX sessions of the configured settings file. Connect
and disconnect run in a worker; the logon state then follows the OMS's BrokerSessionChanged
events (logged on or off, next sequence numbers, the last session message).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget

from engine.events import Event
from engine.oms.events import BrokerSessionChanged
from ui.desk import Desk
from ui.oms_link import OmsLink, SessionRow, link_of
from ui.panels.base import Panel
from widgets.blotter import Blotter
from widgets.columns import Column
from widgets.elided_label import ElidedLabel
from widgets.flow_layout import FlowBar
from widgets.toolbar import themed_icon

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


def link_rows(rows: list[SessionRow], at: datetime) -> pd.DataFrame:
    """The link's view of its sessions (configured ones show before they ever log on)."""
    return pd.DataFrame(
        [
            {
                "broker": r.broker,
                "status": "logged_on" if r.logged_on else "logged_off",
                "next_sender_seq": r.next_sender_seq,
                "next_target_seq": r.next_target_seq,
                "kind": r.kind,
                "at": at,
            }
            for r in rows
        ],
        columns=[c.key for c in SESSION_COLUMNS],
    )


class SessionsPanel(Panel):
    name = "sessions"
    title = "Broker sessions"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.blotter = Blotter(
            SESSION_COLUMNS,
            "broker",
            "No broker session yet — Connect logs on to the FIX sessions of the settings file",
            [("status", "Session")],
        )
        self.blotter.model.clear()
        self.connect_button = QPushButton(themed_icon("fa5s.plug"), "Connect")
        self.connect_button.setToolTip("log on to every configured FIX session (Ctrl+Shift+C)")
        self.connect_button.setShortcut("Ctrl+Shift+C")
        self.connect_button.clicked.connect(lambda _c=False: self.connect_sessions())
        self.disconnect_button = QPushButton(themed_icon("fa5s.power-off"), "Disconnect")
        self.disconnect_button.setToolTip("log out of every session; orders stay as they are (Ctrl+Shift+D)")
        self.disconnect_button.setShortcut("Ctrl+Shift+D")
        self.disconnect_button.clicked.connect(lambda _c=False: self.disconnect_sessions())
        self.label = ElidedLabel("")
        bar = FlowBar()
        bar.add(self.connect_button)
        bar.add(self.disconnect_button)
        bar.add(self.label, grow=True, min_width=160)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(bar)
        layout.addWidget(self.blotter, 1)
        self.setWidget(body)
        desk.bridge.batch.connect(self._on_events)

    def load(self) -> None:
        """Find (or make) the desk's OMS link in a worker (the OMS imports compliance and accounting)."""
        self.connect_button.setEnabled(False)
        self.disconnect_button.setEnabled(False)

        def done(result: tuple[OmsLink, list[SessionRow]]) -> None:
            link, rows = result
            self.label.setText(link.label or ("" if link.can_connect else "no FIX settings file configured"))
            self._show(rows)
            self._buttons(busy=False)

        def fetch(_t: object) -> tuple[OmsLink, list[SessionRow]]:
            link = link_of(self.desk)
            return link, link.sessions()

        self.desk.run("Broker sessions", fetch, done)

    def _buttons(self, busy: bool) -> None:
        link = link_of(self.desk)
        self.connect_button.setEnabled(not busy and link.can_connect and link.gateway is None)
        self.disconnect_button.setEnabled(not busy and link.gateway is not None)

    def _show(self, rows: list[SessionRow]) -> None:
        if rows:
            self.blotter.model.upsert(link_rows(rows, self.desk.clock.now().astimezone(UTC)))

    def connect_sessions(self) -> None:
        """Start the configured sessions in a worker; logon shows when the broker answers."""
        link = link_of(self.desk)
        self._buttons(busy=True)

        def done(rows: list[SessionRow]) -> None:
            self._show(rows)
            self._buttons(busy=False)
            on = sum(r.logged_on for r in rows)
            self.desk.message.emit(f"FIX sessions: {on} of {len(rows)} logged on")

        def failed(msg: str) -> None:
            self._buttons(busy=False)
            self.desk.message.emit(f"Could not connect: {msg}")

        self.desk.run("Connecting FIX sessions", lambda _t: link.connect(), done, failed)

    def disconnect_sessions(self) -> None:
        link = link_of(self.desk)
        self._buttons(busy=True)

        def done(rows: list[SessionRow]) -> None:
            self._show(rows)
            self._buttons(busy=False)
            self.desk.message.emit("FIX sessions disconnected")

        def failed(msg: str) -> None:
            self._buttons(busy=False)
            self.desk.message.emit(f"Could not disconnect: {msg}")

        self.desk.run("Disconnecting FIX sessions", lambda _t: link.disconnect(), done, failed)

    def _on_events(self, events: list[Event]) -> None:
        rows = session_rows(events)
        if len(rows):
            self.blotter.model.upsert(rows)

    def apply_theme(self, dark: bool) -> None:
        self.blotter.dark = dark
        self.blotter.view.viewport().update()
