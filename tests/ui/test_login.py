"""The login dialog goes through engine.access.login: refusals audited, five failures lock, role workspace."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from sqlalchemy import select

from engine.access.login import MAX_FAILURES, hash_password
from engine.store.database import Database
from engine.store.migrate import upgrade
from engine.store.people import AuditEntry, User
from tests.engine.access.mfa_helpers import code_now, give_second_factor
from tests.ui.helpers import close_window
from ui.desk import Desk
from ui.login import LoginDialog
from ui.main_window import MainWindow
from ui.screenshot import wait_ready
from ui.settings import UserSettings
from ui.workers import Jobs

GOOD = "correct horse battery"


def add_user(database: Database, username: str, role: str, password: str | None) -> None:
    with database.transaction() as s:
        if s.scalars(select(User).where(User.username == username)).first() is None:
            pw = hash_password(password) if password is not None else None
            s.add(User(username=username, display_name=username, role=role, password_hash=pw))


def audit_actions(database: Database, username: str) -> list[str]:
    with database.session() as s:
        return list(
            s.scalars(
                select(AuditEntry.action).where(AuditEntry.username == username).order_by(AuditEntry.id)
            )
        )


def failed_state(database: Database, username: str) -> tuple[int, object]:
    with database.session() as s:
        u = s.scalars(select(User).where(User.username == username)).one()
        return u.failed_logins, u.locked_until


def dialog_for(qtbot, database: Database, username: str) -> LoginDialog:  # type: ignore[no-untyped-def]
    dialog = LoginDialog(database)
    qtbot.addWidget(dialog)
    dialog.choose(username)
    assert dialog.combo.currentData() == username
    return dialog


def test_wrong_password_is_refused_and_audited(qtbot, demo_db) -> None:  # type: ignore[no-untyped-def]
    add_user(demo_db, "login.wrong", "portfolio_manager", GOOD)
    dialog = dialog_for(qtbot, demo_db, "login.wrong")
    assert dialog.password.isEnabled()
    dialog.password.setText("not the password")
    dialog.try_login()
    assert dialog.user is None and dialog.result() != LoginDialog.DialogCode.Accepted
    assert dialog.error.text() == "Wrong user name or password."
    assert audit_actions(demo_db, "login.wrong") == ["login.failure"]
    assert failed_state(demo_db, "login.wrong") == (1, None)


def test_five_failures_lock_the_user_even_against_the_right_password(qtbot, demo_db) -> None:  # type: ignore[no-untyped-def]
    add_user(demo_db, "login.locked", "trader", GOOD)
    dialog = dialog_for(qtbot, demo_db, "login.locked")
    for _ in range(MAX_FAILURES):
        dialog.password.setText("guess guess guess")
        dialog.try_login()
        assert dialog.user is None
    assert "locked for 15 minutes" in dialog.error.text()
    failures, locked_until = failed_state(demo_db, "login.locked")
    assert failures == MAX_FAILURES and locked_until is not None
    dialog.password.setText(GOOD)
    dialog.try_login()
    assert dialog.user is None and "locked until" in dialog.error.text()
    assert audit_actions(demo_db, "login.locked") == ["login.failure"] * (MAX_FAILURES - 1) + [
        "login.lockout",
        "login.locked",
    ]


def test_good_password_opens_the_workspace_of_the_role(qtbot, demo_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    add_user(demo_db, "login.good", "compliance", GOOD)
    secret = give_second_factor(demo_db, "login.good")  # compliance needs one
    dialog = dialog_for(qtbot, demo_db, "login.good")
    assert dialog.code.isEnabled()
    dialog.password.setText(GOOD)
    dialog.code.setText(code_now(demo_db, "login.good", secret))
    dialog.try_login()
    assert dialog.result() == LoginDialog.DialogCode.Accepted
    user = dialog.user
    assert user is not None and (user.username, user.role, user.workspace) == (
        "login.good",
        "compliance",
        "compliance",
    )
    assert audit_actions(demo_db, "login.good") == ["mfa.success", "login.success"]
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(Desk(demo_db, user, jobs=Jobs()), UserSettings(user.username, store), theme="light")
    qtbot.addWidget(window)
    window.show()
    assert wait_ready(window, 60_000)
    assert window.workspace == "compliance"
    assert {n for n, d in window.docks.items() if not d.isHidden()} == {
        "approvals",
        "audit",
        "reconcile",
        "holdings",
        "killswitch",
        "stale",
        "tca",
    }
    close_window(window)


def test_demo_user_without_password_opens_audited_only_in_the_demo_book(qtbot, demo_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dialog = dialog_for(qtbot, demo_db, "tara.trader")
    assert not dialog.password.isEnabled() and not dialog.code.isEnabled() and not dialog.demo.isHidden()
    assert (
        "simulated demo book" in dialog.demo.text()
        and "simulated demo book" in dialog.password.placeholderText()
    )
    before = audit_actions(demo_db, "tara.trader").count("login.demo")
    dialog.try_login()
    assert dialog.user is not None and dialog.user.workspace == "trader"
    assert audit_actions(demo_db, "tara.trader").count("login.demo") == before + 1

    plain = Database(f"sqlite:///{tmp_path / 'plain.db'}")  # not a demo book: engine.access refuses
    try:
        upgrade(plain)
        add_user(plain, "tara.trader", "trader", None)  # the demo's name, in a book that is no demo
        dialog = dialog_for(qtbot, plain, "tara.trader")
        assert dialog.password.isEnabled() and dialog.demo.isHidden()
        dialog.try_login()
        assert dialog.user is None and dialog.error.text() == "Wrong user name or password."
        assert audit_actions(plain, "tara.trader") == ["login.failure"]
    finally:
        plain.dispose()
