"""The login dialog asks a user with a second factor for the code; a compliance user without one
is offered the enrolment dialog (QR code, a first code, recovery codes) and signed in after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from connectors.keys import KeychainSecretBox
from engine.access.totp import code_at
from engine.store.database import Database
from engine.store.people import User
from tests.engine.access.mfa_helpers import code_now, give_second_factor
from tests.ui.test_login import GOOD, add_user, audit_actions, dialog_for
from ui.login import LoginDialog
from ui.mfa_dialog import MfaEnrolDialog

SAID = "Wrong user name or password, or wrong code (each code works once: a new one comes every 30 s)."
T0 = datetime(2026, 12, 7, 9, 0, 5, tzinfo=UTC)


def test_the_login_dialog_asks_for_the_code_and_refuses_a_wrong_one(qtbot, demo_db: Database) -> None:  # type: ignore[no-untyped-def]
    add_user(demo_db, "mfa.code", "admin", GOOD)
    add_user(demo_db, "mfa.none", "trader", GOOD)
    secret = give_second_factor(demo_db, "mfa.code")
    dialog = dialog_for(qtbot, demo_db, "mfa.none")
    assert not dialog.code.isEnabled() and dialog.code.placeholderText() == "no second factor enrolled"
    dialog.choose("mfa.code")
    assert dialog.code.isEnabled() and "recovery code" in dialog.code.placeholderText()
    now = datetime.now(UTC)
    right = {code_at(secret, now + k * timedelta(seconds=30)) for k in (-1, 0, 1)}
    dialog.password.setText(GOOD)
    dialog.code.setText(next(c for c in ("123456", "654321", "111111") if c not in right))
    dialog.try_login()
    assert dialog.user is None and dialog.error.text() == SAID
    assert dialog.code.text() == "" and audit_actions(demo_db, "mfa.code") == ["mfa.failure"]
    dialog.password.setText(GOOD)
    dialog.try_login()  # no code at all
    assert dialog.user is None and dialog.error.text() == SAID
    dialog.password.setText(GOOD)
    dialog.code.setText(code_now(demo_db, "mfa.code", secret))
    dialog.try_login()
    assert dialog.result() == LoginDialog.DialogCode.Accepted and dialog.user is not None
    assert dialog.user.username == "mfa.code"
    assert audit_actions(demo_db, "mfa.code")[-2:] == ["mfa.success", "login.success"]


def test_a_compliance_user_without_a_factor_enrols_with_the_qr_code(
    qtbot, demo_db: Database, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    add_user(demo_db, "mfa.new", "compliance", GOOD)
    login = dialog_for(qtbot, demo_db, "mfa.new")
    assert not login.code.isEnabled() and login.enrol.isHidden()
    login.password.setText(GOOD)
    login.try_login()
    assert login.user is None and not login.enrol.isHidden()
    assert login.error.text() == (
        "The Compliance role needs a second factor and you have none yet: set it up now below."
    )
    enrol = MfaEnrolDialog(demo_db, "mfa.new", login.password.text(), clock=lambda: T0, parent=login)
    qtbot.addWidget(enrol)
    enrol.show()
    pixmap = enrol.qr.pixmap()
    assert not pixmap.isNull() and pixmap.width() == pixmap.height() >= 150
    with demo_db.session() as s:
        stored = s.scalar(select(User.totp_secret).where(User.username == "mfa.new"))
    assert stored is not None and stored.startswith("fernet1:")
    secret = KeychainSecretBox().open(stored)  # sealed at rest; the dialog showed the secret itself
    assert enrol.secret.text().replace(" ", "") == secret
    assert enrol.uri == f"otpauth://totp/SMA%20Workstation:mfa.new?secret={secret}" + (
        "&issuer=SMA+Workstation&algorithm=SHA1&digits=6&period=30"
    )
    enrol.grab().save(str(tmp_path / "enrol.png"))
    enrol.code.setText("000000" if code_at(secret, T0) != "000000" else "111111")
    enrol.confirm()
    assert enrol.codes.isHidden() and enrol.error.text().startswith("Wrong code")
    enrol.code.setText(code_at(secret, T0 + timedelta(seconds=30)))  # the next step: drift allowed
    enrol.confirm()
    codes = enrol.codes.toPlainText().splitlines()
    assert len(codes) == 10 and codes == enrol.recovery_codes and not enrol.done_button.isHidden()
    assert enrol.secret.text() == "" and enrol.qr.pixmap().isNull()  # shown once, then gone
    enrol.grab().save(str(tmp_path / "codes.png"))
    login.finish_enrolment(enrol)
    assert login.result() == LoginDialog.DialogCode.Accepted and login.user is not None
    assert (login.user.username, login.user.workspace) == ("mfa.new", "compliance")
    assert audit_actions(demo_db, "mfa.new") == [
        "mfa.required",
        "login.success",  # signed in to enrol
        "mfa.enrol",
        "mfa.failure",  # the wrong first code
        "mfa.confirm",
    ]
