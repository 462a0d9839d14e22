"""Enrolling a second factor from the desktop: the QR code of the otpauth:// URI (and the secret
as text), a first code to confirm it, then the recovery codes, each shown this once.

The user signs in to enrol (engine.access.signin with `enrolling`: the password only, audited)
and engine.access.mfa does the rest; nothing here keeps the secret after the dialog closes.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime

import segno
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.access import mfa
from engine.access.signin import SignedIn, sign_in
from engine.errors import WorkstationError
from engine.store.database import Database


def qr_pixmap(uri: str, scale: int = 6) -> QPixmap:
    """The QR code of `uri` as a pixmap (segno draws the PNG; no network, no Pillow)."""
    buf = io.BytesIO()
    segno.make(uri, error="m").save(buf, kind="png", scale=scale, border=4)
    pixmap = QPixmap()
    pixmap.loadFromData(buf.getvalue(), "PNG")
    return pixmap


class MfaEnrolDialog(QDialog):
    """Enrol `username`'s authenticator app; accepted once the first code confirmed it.

    `who` is then the signed-in user and `recovery_codes` the codes just shown.
    """

    def __init__(
        self,
        database: Database,
        username: str,
        password: str,
        clock: Callable[[], datetime] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("SMA Workstation — set up a second factor")
        self.database, self.username = database, username
        self.clock = clock or (lambda: datetime.now(UTC))
        self.who: SignedIn | None = None
        self.recovery_codes: list[str] = []
        self.intro = QLabel(
            "Your role needs a second factor. Scan this code with an authenticator app "
            "(or type the key below), then enter the six digits it shows to confirm."
        )
        self.intro.setWordWrap(True)
        self.qr = QLabel()
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.secret = QLineEdit()
        self.secret.setReadOnly(True)
        self.secret.setFont(QFont("monospace"))
        self.code = QLineEdit()
        self.code.setPlaceholderText("6 digits from the app")
        self.code.setMaxLength(6)
        self.confirm_button = QPushButton("Confirm")
        self.confirm_button.clicked.connect(self.confirm)
        self.codes = QPlainTextEdit()
        self.codes.setReadOnly(True)
        self.codes.setFont(QFont("monospace"))
        self.codes.setVisible(False)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #c62828")
        self.error.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.rejected.connect(self.reject)
        self.done_button = self.buttons.addButton(
            "I have kept the recovery codes", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.done_button.setVisible(False)
        self.done_button.clicked.connect(self.accept)
        self.key_label, self.code_label = QLabel("Key"), QLabel("Code")
        layout = QVBoxLayout(self)
        for w in (
            self.intro,
            self.qr,
            self.key_label,
            self.secret,
            self.code_label,
            self.code,
            self.confirm_button,
        ):
            layout.addWidget(w)
        layout.addWidget(self.codes)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self._begin(password)

    def _begin(self, password: str) -> None:
        try:
            self.who = sign_in(self.database, self.username, password, now=self.clock(), enrolling=True)
            with self.database.transaction() as s:
                enrolment = mfa.begin_enrolment(s, self.username, self.username, now=self.clock())
        except WorkstationError as exc:
            self._refuse(str(exc))
            self.code.setEnabled(False)
            self.confirm_button.setEnabled(False)
            return
        self.uri = enrolment.uri
        self.qr.setPixmap(qr_pixmap(enrolment.uri))
        self.secret.setText(" ".join(enrolment.secret[i : i + 4] for i in range(0, len(enrolment.secret), 4)))

    def _refuse(self, reason: str) -> None:
        self.error.setText(reason[:1].upper() + reason[1:] + ".")

    def confirm(self) -> None:
        """Check the first code; on success show the recovery codes and let the user finish."""
        try:
            with self.database.transaction() as s:
                self.recovery_codes = mfa.confirm(
                    s, self.username, self.username, self.code.text(), now=self.clock()
                )
        except WorkstationError as exc:
            self._refuse(str(exc))
            self.code.clear()
            return
        self.error.setText("")
        self.secret.clear()
        self.qr.clear()
        self.qr.setText("Second factor confirmed.")
        self.code.clear()
        for w in (self.key_label, self.secret, self.code_label, self.code, self.confirm_button):
            w.setVisible(False)
        self.intro.setText(
            "Keep these recovery codes somewhere safe and offline. Each one signs you in once "
            "if you lose the app; they are not shown again."
        )
        self.codes.setPlainText("\n".join(self.recovery_codes))
        self.codes.setVisible(True)
        self.done_button.setVisible(True)
