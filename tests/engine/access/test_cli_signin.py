"""The CLI signs people in the way the desktop does: a password ($WORKSTATION_PASSWORD or a prompt),
lock-out and audit; the simulated demo book's demo users without one (said on stderr, audited);
and `users` never locks the firm out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.access.login import hash_password
from engine.access.signin import DEMO_USERS
from engine.compliance.tables import KillSwitch
from engine.store.database import Database
from engine.store.people import AuditEntry, User
from tests.conftest import migrated
from tests.engine.access.mfa_helpers import code_now, give_second_factor
from workstation.cli import users as cli_users
from workstation.cli.main import main

ADMIN_PW = "admin's long password"


@pytest.fixture
def plain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """Not a demo book: the demo's user names without passwords, and an admin with one."""
    monkeypatch.delenv("WORKSTATION_PASSWORD", raising=False)
    monkeypatch.delenv("WORKSTATION_NEW_PASSWORD", raising=False)
    database = migrated(f"sqlite:///{tmp_path / 'plain.db'}")
    with database.transaction() as s:
        for name, display, role in DEMO_USERS:
            if name != "ada.admin":
                s.add(User(username=name, display_name=display, role=role))
        s.add(User(username="root", display_name="Root", role="admin", password_hash=hash_password(ADMIN_PW)))
    yield database
    database.dispose()


def cli(db: Database, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--db", str(db.url), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def audit(db: Database) -> list[tuple[str, str]]:
    with db.session() as s:
        return [(e.username, e.action) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def switches(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(KillSwitch)) or 0)


def terminal(monkeypatch: pytest.MonkeyPatch, answer: str | None) -> list[str]:
    """The terminal's password prompt (outside the machine): records prompts, answers `answer`."""
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        if answer is None:
            raise AssertionError(f"no prompt expected, got {prompt!r}")
        return answer

    monkeypatch.setattr(cli_users.getpass, "getpass", ask)
    return prompts


ENGAGE = ("compliance", "kill", "engage", "firm", "--reason", "test halt", "--user", "cora.compliance")


def test_the_demo_book_signs_its_demo_users_in_without_a_password(
    demo: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WORKSTATION_PASSWORD", raising=False)
    terminal(monkeypatch, None)  # nothing is asked
    code, out, err = cli(demo, capsys, *ENGAGE)
    assert code == 0 and "routing stopped" in out
    assert "signed in as cora.compliance without a password (simulated demo book; audited)" in err
    assert audit(demo)[-2:] == [("cora.compliance", "login.demo"), ("cora.compliance", "killswitch.engage")]


def test_any_other_book_asks_the_same_user_for_a_password_and_refuses_without_one(
    plain: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts = terminal(monkeypatch, "")
    code, _, err = cli(plain, capsys, *ENGAGE)
    assert prompts == ["password for cora.compliance: "]
    assert code == 2 and err.strip() == "error: wrong user name or password"
    assert switches(plain) == 0 and audit(plain) == [("cora.compliance", "login.failure")]
    monkeypatch.setenv("WORKSTATION_PASSWORD", "")
    assert cli(plain, capsys, *ENGAGE)[0] == 2 and switches(plain) == 0


def test_a_wrong_password_is_refused_audited_and_changes_nothing(
    plain: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKSTATION_PASSWORD", "not the admin's password")
    monkeypatch.setenv("WORKSTATION_NEW_PASSWORD", "a new long password")
    before = audit(plain)
    code, _, err = cli(plain, capsys, "users", "add", "mallory", "--role", "admin", "--user", "root")
    assert code == 2 and "wrong user name or password" in err
    assert audit(plain) == [*before, ("root", "login.failure")]
    with plain.session() as s:
        assert s.scalar(select(User).where(User.username == "mallory")) is None


def test_users_never_lock_the_firm_out(
    plain: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKSTATION_PASSWORD", ADMIN_PW)
    monkeypatch.setenv("WORKSTATION_TOTP", code_now(plain, "root", give_second_factor(plain, "root")))
    code, _, err = cli(plain, capsys, "users", "disable", "root", "--reason", "leaving", "--user", "root")
    assert code == 2 and err.strip() == (
        "error: root is the last active admin: disable refused, nothing changed (add or enable another admin first)"
    )
    assert audit(plain)[-2:] == [("root", "login.success"), ("root", "user.refused")]
    # The book has users, so nobody creates an admin without signing in as one.
    monkeypatch.setenv("WORKSTATION_NEW_PASSWORD", "mallory's long password")
    code, _, err = cli(plain, capsys, "users", "add", "mallory", "--role", "admin")
    assert code == 2 and "only the first admin of a book with no users" in err
    with plain.session() as s:
        assert {u.username: u.active for u in s.scalars(select(User).where(User.role == "admin"))} == {
            "root": True
        }
