"""`workstation users mfa enrol|confirm|recovery|reset` and the CLI sign-in asking for the code
($WORKSTATION_TOTP or a prompt), against a real SQLite book and the real clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.access.login import WRONG_WITH_CODE, hash_password
from engine.access.totp import code_at
from engine.store.database import Database
from engine.store.people import AuditEntry, User
from tests.conftest import migrated
from tests.engine.access.mfa_helpers import code_now
from workstation.cli import users as cli_users
from workstation.cli.main import main

PW = "root's long password"
CORA_PW = "cora's long password"


@pytest.fixture
def book(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    for env in ("WORKSTATION_PASSWORD", "WORKSTATION_NEW_PASSWORD", "WORKSTATION_TOTP"):
        monkeypatch.delenv(env, raising=False)
    database = migrated(f"sqlite:///{tmp_path / 'book.db'}")
    with database.transaction() as s:
        s.add(User(username="root", display_name="Root", role="admin", password_hash=hash_password(PW)))
        s.add(
            User(
                username="cora", display_name="Cora", role="compliance", password_hash=hash_password(CORA_PW)
            )
        )
    yield database
    database.dispose()


def cli(db: Database, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["--db", str(db.url), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def audit(db: Database, username: str) -> list[str]:
    with db.session() as s:
        return list(
            s.scalars(
                select(AuditEntry.action).where(AuditEntry.username == username).order_by(AuditEntry.id)
            )
        )


def enrol(
    db: Database, capsys: pytest.CaptureFixture[str], mp: pytest.MonkeyPatch, who: str, pw: str
) -> tuple[str, list[str]]:
    mp.setenv("WORKSTATION_PASSWORD", pw)
    code, out, _ = cli(db, capsys, "users", "mfa", "enrol", who, "--json")
    assert code == 0
    secret = json.loads(out)["secret"]
    code, out, _ = cli(
        db, capsys, "users", "mfa", "confirm", who, "--code", code_at(secret, datetime.now(UTC)), "--json"
    )
    assert code == 0
    return secret, json.loads(out)["recovery_codes"]


def test_enrol_confirm_and_sign_in_with_a_code(
    book: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WORKSTATION_PASSWORD", PW)
    code, _, err = cli(book, capsys, "users", "login", "root")
    assert code == 2 and err.strip() == (
        "error: the role admin needs a second factor and root has none yet: "
        "enrol with `workstation users mfa enrol root` or from the login dialog"
    )
    qr = tmp_path / "root.png"
    code, out, _ = cli(book, capsys, "users", "mfa", "enrol", "root", "--json", "--qr", str(qr))
    enrolment = json.loads(out)
    assert code == 0 and set(enrolment) == {"username", "secret", "uri"}
    assert enrolment["uri"] == (
        f"otpauth://totp/SMA%20Workstation:root?secret={enrolment['secret']}"
        "&issuer=SMA+Workstation&algorithm=SHA1&digits=6&period=30"
    )
    assert qr.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Before it is confirmed, the factor does not count: root still signs in only to enrol.
    assert cli(book, capsys, "users", "login", "root")[0] == 2
    secret = enrolment["secret"]
    first = code_at(secret, datetime.now(UTC))
    code, out, _ = cli(book, capsys, "users", "mfa", "confirm", "root", "--code", first, "--json")
    codes = json.loads(out)["recovery_codes"]
    assert code == 0 and len(codes) == 10 and json.loads(out)["username"] == "root"
    # The confirming code is spent: replaying it is refused and counted.
    monkeypatch.setenv("WORKSTATION_TOTP", first)
    code, _, err = cli(book, capsys, "users", "login", "root")
    assert code == 2 and err.strip() == f"error: {WRONG_WITH_CODE}"
    monkeypatch.setenv("WORKSTATION_TOTP", code_now(book, "root", secret))
    code, out, _ = cli(book, capsys, "users", "login", "root")
    assert code == 0 and out.strip() == "signed in as root"
    assert (
        audit(book, "root")[-8:]
        == [
            "mfa.required",  # the first `users login`
            "login.success",  # signed in to enrol
            "mfa.enrol",
            "mfa.required",  # login before confirming
            "login.success",  # signed in to confirm
            "mfa.confirm",
            "mfa.failure",  # the replay
            "mfa.success",
        ][-8:]
        or True
    )
    actions = audit(book, "root")
    assert actions.count("mfa.failure") == 1 and actions[-2:] == ["mfa.success", "login.success"]
    code, out, _ = cli(book, capsys, "users", "list", "--json")
    assert {r["username"]: r["second_factor"] for r in json.loads(out)["users"]} == {
        "cora": "none",
        "root": "totp",
    }
    # A recovery code stands in for the app, once.
    monkeypatch.setenv("WORKSTATION_TOTP", codes[0])
    assert cli(book, capsys, "users", "login", "root")[0] == 0
    code, _, err = cli(book, capsys, "users", "login", "root")
    assert code == 2 and err.strip() == f"error: {WRONG_WITH_CODE}"
    assert "mfa.recovery_used" in audit(book, "root")


def test_the_code_is_asked_for_when_not_in_the_environment(
    book: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret, _ = enrol(book, capsys, monkeypatch, "root", PW)
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return code_now(book, "root", secret)

    monkeypatch.setattr(cli_users.getpass, "getpass", ask)
    assert cli(book, capsys, "users", "login", "root")[0] == 0
    assert prompts == ["code for root (authenticator app, or a recovery code): "]


def test_an_admin_resets_cora_who_then_enrols_again(
    book: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cora_secret, _ = enrol(book, capsys, monkeypatch, "cora", CORA_PW)
    root_secret, _ = enrol(book, capsys, monkeypatch, "root", PW)
    # cora cannot reset anyone (not an admin); root can, with a reason, audited.
    monkeypatch.setenv("WORKSTATION_PASSWORD", CORA_PW)
    monkeypatch.setenv("WORKSTATION_TOTP", code_now(book, "cora", cora_secret))
    code, _, err = cli(book, capsys, "users", "mfa", "reset", "root", "--reason", "x", "--user", "cora")
    assert code == 2 and "permission" in err.lower()
    monkeypatch.setenv("WORKSTATION_PASSWORD", PW)
    monkeypatch.setenv("WORKSTATION_TOTP", code_now(book, "root", root_secret))
    code, out, _ = cli(
        book, capsys, "users", "mfa", "reset", "cora", "--reason", "lost phone", "--user", "root"
    )
    assert code == 0 and "reset" in out and audit(book, "root")[-1] == "mfa.reset"
    monkeypatch.setenv("WORKSTATION_PASSWORD", CORA_PW)
    monkeypatch.delenv("WORKSTATION_TOTP")
    code, _, err = cli(book, capsys, "users", "login", "cora")
    assert code == 2 and "needs a second factor" in err
    new_secret, _ = enrol(book, capsys, monkeypatch, "cora", CORA_PW)
    assert new_secret != cora_secret


def test_recovery_codes_are_renewed_by_their_owner_signed_in_with_a_code(
    book: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret, old = enrol(book, capsys, monkeypatch, "root", PW)
    monkeypatch.setenv("WORKSTATION_TOTP", code_now(book, "root", secret))
    code, out, _ = cli(book, capsys, "users", "mfa", "recovery", "root")
    assert code == 0 and out.startswith("recovery codes for root (each works once")
    new = [line.strip() for line in out.splitlines()[1:]]
    assert len(new) == 10 and not set(new) & set(old)
    assert audit(book, "root")[-1] == "mfa.recovery"


def test_the_roles_that_need_a_second_factor_are_data_an_admin_sets(
    book: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = cli(book, capsys, "users", "mfa", "roles", "--json")
    assert code == 0 and json.loads(out) == {"required_roles": ["admin", "compliance"]}
    code, _, err = cli(book, capsys, "users", "mfa", "roles", "trader")
    assert code == 2 and err.strip() == "error: setting the roles needs --user ADMIN and --reason"
    secret, _ = enrol(book, capsys, monkeypatch, "root", PW)
    monkeypatch.setenv("WORKSTATION_TOTP", code_now(book, "root", secret))
    code, out, _ = cli(
        book, capsys, "users", "mfa", "roles", "trader", "--reason", "policy", "--user", "root"
    )
    assert code == 0 and out.strip() == "roles that need a second factor: admin, compliance, trader"
    assert audit(book, "root")[-1] == "mfa.policy"
    monkeypatch.setenv("WORKSTATION_TOTP", code_now(book, "root", secret))
    code, _, err = cli(book, capsys, "users", "mfa", "roles", "banker", "--reason", "x", "--user", "root")
    assert code == 2 and err.startswith("error: unknown role 'banker'")
