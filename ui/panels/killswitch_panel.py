"""Kill switch: compliance and admins stop routing for the firm, a desk, an account or the orders
one trader enters, and lift it.

Engage and release go through engine.compliance.killswitch (killswitch.use, a reason, audited) in a
worker as the signed-in desk user. The OMS asks the same table before every create and route, so
the effect is live on every desk at once; the shared desk's change feed reloads this dock on every
desk when a switch is engaged or released elsewhere. The grid shows the switches engaged now.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QComboBox, QInputDialog, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget
from sqlalchemy import select

from engine.compliance import killswitch
from engine.compliance.tables import DeskAccount
from engine.store.accounts import Account
from engine.store.people import User
from ui.desk import Desk
from ui.panels.base import Panel
from widgets.blotter import Blotter, RowAction
from widgets.columns import Column
from widgets.flow_layout import FlowBar
from widgets.toolbar import themed_icon

SWITCH_COLUMNS = [
    Column("scope", "Scope"),
    Column("key", "Desk / account / trader"),
    Column("engaged_by", "Engaged by"),
    Column("engaged_at", "Engaged at", "datetime"),
    Column("reason", "Reason"),
]


def engaged_frame(database: Any) -> pd.DataFrame:
    """The switches engaged now, one row each (the firm's key is shown as 'whole firm')."""
    with database.session() as s:
        rows = killswitch.switches(s)
    frame = pd.DataFrame(rows, columns=["id", *[c.key for c in SWITCH_COLUMNS]])
    frame["key"] = [k if k else "whole firm" for k in frame["key"]]
    return frame


def scope_keys(database: Any) -> dict[str, list[str]]:
    """What each scope can name: desks that have accounts, account codes, and the active users who
    may enter orders (traders first)."""
    with database.session() as s:
        desks = sorted(set(s.scalars(select(DeskAccount.desk))))
        accounts = list(s.scalars(select(Account.code).order_by(Account.code)))
        users = s.execute(select(User.username, User.role).where(User.active.is_(True))).all()
    traders = sorted(u for u, role in users if role == "trader") + sorted(
        u for u, role in users if role != "trader"
    )
    return {"firm": [], "desk": desks, "account": accounts, "trader": traders}


class KillSwitchPanel(Panel):
    name = "killswitch"
    title = "Kill switch"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.keys: dict[str, list[str]] = {scope: [] for scope in killswitch.SCOPES}
        self.blotter = Blotter(SWITCH_COLUMNS, "id", "No kill switch engaged — routing is allowed", [])
        self.blotter.view.export_name = self.name
        self.blotter.set_actions(
            [
                RowAction(
                    "Release kill switch…", self.ask_release, lambda rows: bool(rows), shortcut="Ctrl+Shift+K"
                )
            ]
        )
        self.scope = QComboBox()
        self.scope.addItems(list(killswitch.SCOPES))
        self.scope.setToolTip(
            "firm: every order; desk: the desk's accounts; account: one account; "
            "trader: the orders one user enters (new ones refused, released ones not routed)"
        )
        self.scope.currentTextChanged.connect(self._scope_changed)
        self.key = QComboBox()
        self.key.setEditable(True)
        self.key.setMinimumContentsLength(10)
        self.key.setToolTip("the desk, account or trader the switch stops")
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("reason (required, audited)")
        self.engage_button = QPushButton(themed_icon("fa5s.hand-paper"), "Engage")
        self.engage_button.setToolTip("stop routing for this scope now (killswitch.use)")
        self.engage_button.clicked.connect(lambda _c=False: self.engage_from_form())
        self.reason.returnPressed.connect(self.engage_from_form)
        self.refresh_button = QPushButton(themed_icon("fa5s.sync"), "Refresh")
        self.refresh_button.setToolTip("read the engaged switches again (F5); also every 10 s while shown")
        self.refresh_button.setShortcut("F5")
        self.refresh_button.clicked.connect(lambda _c=False: self.refresh())
        self.summary = QLabel("")
        self._poll = QTimer(self)
        self._poll.setInterval(10_000)
        self._poll.timeout.connect(self._tick)
        self._poll.start()
        bar = FlowBar()
        bar.add(QLabel("Scope:"))
        bar.add(self.scope)
        bar.add(self.key)
        bar.add(self.reason, grow=True, min_width=160)
        bar.add(self.engage_button)
        bar.add(self.refresh_button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(bar)
        layout.addWidget(self.summary)
        layout.addWidget(self.blotter, 1)
        self.setWidget(body)
        self._scope_changed(self.scope.currentText())

    def _scope_changed(self, scope: str) -> None:
        self.key.clear()
        self.key.addItems(self.keys.get(scope, []))
        self.key.setEnabled(scope != "firm")
        self.key.setEditText("" if scope == "firm" else self.key.currentText())

    def _tick(self) -> None:
        """Another desk may engage or release a switch: re-read while the dock is shown."""
        if self.loaded and self.isVisible():
            self.desk.run(
                "Reading kill switches",
                lambda _t: engaged_frame(self.desk.database),
                self._show,
                lambda _m: None,
            )

    def load(self) -> None:
        def fetch(_t: object) -> tuple[pd.DataFrame, dict[str, list[str]]]:
            return engaged_frame(self.desk.database), scope_keys(self.desk.database)

        def done(result: tuple[pd.DataFrame, dict[str, list[str]]]) -> None:
            frame, self.keys = result
            self._show(frame)
            self._scope_changed(self.scope.currentText())

        self.desk.run("Loading kill switches", fetch, done)

    def _show(self, frame: pd.DataFrame) -> None:
        self.blotter.model.set_frame(frame)
        self.blotter.view.fit_columns()
        n = len(frame)
        self.summary.setText(
            "  Routing allowed everywhere"
            if n == 0
            else f"  {n} kill switch(es) engaged: routing stopped there"
        )

    # ---- engage and release, in a worker, as the signed-in user -----------------------------------
    def engage_from_form(self) -> None:
        scope = self.scope.currentText()
        key = None if scope == "firm" else self.key.currentText().strip() or None
        self.engage(scope, key, self.reason.text())

    def engage(self, scope: str, key: str | None, reason: str) -> None:
        """Stop routing for `scope` (firm) or `scope` `key` (desk, account, trader); the engine checks it."""
        user = self.desk.user.username

        def run(_t: object) -> pd.DataFrame:
            with self.desk.database.transaction() as s:
                killswitch.engage(s, user, scope, key, reason)
            return engaged_frame(self.desk.database)

        def done(frame: pd.DataFrame) -> None:
            self.reason.clear()
            self._show(frame)
            where = (
                "the whole firm"
                if key is None
                else f"orders entered by {key}"
                if scope == "trader"
                else f"{scope} {key}"
            )
            self.desk.message.emit(f"Kill switch engaged: routing stopped for {where}")

        self.desk.run(
            "Engage kill switch", run, done, lambda msg: self.desk.message.emit(f"Kill switch refused: {msg}")
        )

    def ask_release(self, keys: list[object]) -> None:
        reason, ok = QInputDialog.getText(self, "Release kill switch", "Reason (audited):")
        if ok:
            self.release([int(k) for k in keys], reason)  # type: ignore[call-overload]

    def release(self, switch_ids: list[int], reason: str) -> None:
        """Lift these switches (all or none); routing resumes where nothing else stops it."""
        user = self.desk.user.username

        def run(_t: object) -> pd.DataFrame:
            with self.desk.database.transaction() as s:
                for sid in switch_ids:
                    killswitch.release(s, user, sid, reason)
            return engaged_frame(self.desk.database)

        def done(frame: pd.DataFrame) -> None:
            self._show(frame)
            self.desk.message.emit(f"Kill switch released ({len(switch_ids)}): routing resumes")

        self.desk.run(
            "Release kill switch",
            run,
            done,
            lambda msg: self.desk.message.emit(f"Kill switch release refused: {msg}"),
        )
