"""Login: choose a user from the users table; engine.access.signin signs them in as the CLI does
(password, then the second factor's code for a user who has one; lock-out, audit; in the simulated
demo book its demo users need neither, labelled). A user whose role needs a second factor and who
has none yet is offered the enrolment dialog (ui.mfa_dialog) and is signed in once it is confirmed."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from engine.access.errors import AuthenticationFailed, SecondFactorMissing
from engine.access.mfa import second_factor_users
from engine.access.signin import DEMO_LABEL, password_free_users, sign_in
from engine.store.database import Database
from engine.views.users import DeskUser, desk_users
from ui.mfa_dialog import MfaEnrolDialog

ROLE_NAMES = {
    "portfolio_manager": "Portfolio manager",
    "compliance": "Compliance",
    "trader": "Trader",
    "admin": "Administrator",
    "operations": "Operations",
}


class LoginDialog(QDialog):
    """Returns the authenticated DeskUser in `user` when accepted."""

    def __init__(self, database: Database, last_user: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("SMA Workstation — log in")
        self.database = database
        self.users = desk_users(database)
        self.password_free = password_free_users(database)
        self.with_code = second_factor_users(database)
        self.user: DeskUser | None = None
        self.combo = QComboBox()
        for u in self.users:
            self.combo.addItem(f"{u.display_name}  ·  {ROLE_NAMES.get(u.role, u.role)}", u.username)
        idx = self.combo.findData(last_user)
        if idx >= 0:
            self.combo.setCurrentIndex(idx)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.code = QLineEdit()
        self.code.setMaxLength(24)
        self.enrol = QPushButton("Set up a second factor…")
        self.enrol.setVisible(False)
        self.enrol.clicked.connect(self.start_enrolment)
        self.demo = QLabel(
            f"This is the {DEMO_LABEL}: its demo users sign in without a password or code (audited)."
            if self.password_free
            else ""
        )
        self.demo.setVisible(bool(self.password_free))
        self.error = QLabel("")
        self.error.setStyleSheet("color: #c62828")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.try_login)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("User", self.combo)
        form.addRow("Password", self.password)
        form.addRow("Code", self.code)
        form.addRow(self.demo)
        form.addRow(self.error)
        form.addRow(self.enrol)
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
        asks = u is not None and u.username in self.with_code
        self.code.setEnabled(asks)
        self.code.setPlaceholderText(
            "6 digits from the app, or a recovery code"
            if asks
            else (f"none needed: {DEMO_LABEL}" if free else "no second factor enrolled")
        )
        self.code.clear()
        self.enrol.setVisible(False)

    def choose(self, username: str) -> None:
        idx = self.combo.findData(username)
        if idx >= 0:
            self.combo.setCurrentIndex(idx)

    def try_login(self) -> None:
        u = self._selected()
        if u is None:
            return
        code = self.code.text().strip() if u.username in self.with_code else None
        try:
            who = sign_in(self.database, u.username, self.password.text(), code=code)
        except SecondFactorMissing:
            role = ROLE_NAMES.get(u.role, u.role)
            self._say(f"the {role} role needs a second factor and you have none yet: set it up now below")
            self.enrol.setVisible(True)
            return
        except AuthenticationFailed as exc:
            self._say(str(exc))
            self.password.clear()
            self.code.clear()
            return
        self.user = DeskUser(who.username, who.display_name, who.role, who.has_password)
        self.accept()

    def _say(self, reason: str) -> None:
        self.error.setText(reason[:1].upper() + reason[1:] + ".")

    def start_enrolment(self) -> None:
        """Enrol the selected user's second factor (a dialog); signed in once it is confirmed."""
        u = self._selected()
        if u is None:
            return
        dialog = MfaEnrolDialog(self.database, u.username, self.password.text(), parent=self)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.who is not None:
            self.finish_enrolment(dialog)

    def finish_enrolment(self, dialog: MfaEnrolDialog) -> None:
        """Sign in the user whose enrolment `dialog` confirmed (password and first code both checked)."""
        who = dialog.who
        assert who is not None and dialog.recovery_codes
        self.user = DeskUser(who.username, who.display_name, who.role, who.has_password)
        self.accept()
