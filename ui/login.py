"""Login: choose a user from the users table; engine.access.signin signs them in as the CLI does
(password, lock-out, audit; in the simulated demo book its demo users need no password, labelled)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from engine.access.errors import AuthenticationFailed
from engine.access.signin import DEMO_LABEL, password_free_users
from engine.store.database import Database
from engine.views.users import DeskUser, authenticate, desk_users

ROLE_NAMES = {
    "portfolio_manager": "Portfolio manager",
    "compliance": "Compliance",
    "trader": "Trader",
    "admin": "Administrator",
}


class LoginDialog(QDialog):
    """Returns the authenticated DeskUser in `user` when accepted."""

    def __init__(self, database: Database, last_user: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("SMA Workstation — log in")
        self.database = database
        self.users = desk_users(database)
        self.password_free = password_free_users(database)
        self.user: DeskUser | None = None
        self.combo = QComboBox()
        for u in self.users:
            self.combo.addItem(f"{u.display_name}  ·  {ROLE_NAMES.get(u.role, u.role)}", u.username)
        idx = self.combo.findData(last_user)
        if idx >= 0:
            self.combo.setCurrentIndex(idx)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.demo = QLabel(
            f"This is the {DEMO_LABEL}: its demo users sign in without a password (audited)."
            if self.password_free
            else ""
        )
        self.demo.setVisible(bool(self.password_free))
        self.error = QLabel("")
        self.error.setStyleSheet("color: #c62828")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.try_login)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("User", self.combo)
        form.addRow("Password", self.password)
        form.addRow(self.demo)
        form.addRow(self.error)
        form.addRow(self.buttons)
        self.combo.currentIndexChanged.connect(self._user_changed)
        self._user_changed()
        if not self.users:
            self.error.setText("No users in this database: create one with `workstation users add`.")
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)

    def _selected(self) -> DeskUser | None:
        name = self.combo.currentData()
        return next((u for u in self.users if u.username == name), None)

    def _user_changed(self, *_: object) -> None:
        u = self._selected()
        free = u is not None and u.username in self.password_free
        self.password.setEnabled(not free)
        self.password.setPlaceholderText(f"none needed: {DEMO_LABEL}" if free else "")

    def choose(self, username: str) -> None:
        idx = self.combo.findData(username)
        if idx >= 0:
            self.combo.setCurrentIndex(idx)

    def try_login(self) -> None:
        u = self._selected()
        if u is None:
            return
        try:
            self.user = authenticate(self.database, u.username, self.password.text())
        except AuthenticationFailed as exc:
            reason = str(exc)
            self.error.setText(reason[:1].upper() + reason[1:] + ".")
            self.password.clear()
            return
        self.accept()
