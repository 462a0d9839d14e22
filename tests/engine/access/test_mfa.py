"""The second factor with a fixed clock: enrol, confirm, sign in, drift, replay, lock-out,
recovery codes once only, an admin's reset, and the roles that cannot sign in without one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.access import mfa, users
from engine.access.errors import AuthenticationFailed, SecondFactorMissing
from engine.access.login import MAX_FAILURES, WRONG_WITH_CODE
from engine.access.signin import sign_in
from engine.access.totp import code_at, step_of
from engine.audit.verify import verify_chain
from engine.errors import PermissionDenied, WorkstationError
from engine.store.database import Database
from engine.store.people import AuditEntry, User

WRONG = r"wrong user name or password, or wrong code \(each code works once"
T0 = datetime(2026, 12, 7, 9, 0, 5, tzinfo=UTC)
STEP = timedelta(seconds=30)
PW = {"root": "root's long password", "cora": "cora's long password", "tina": "tina's long password"}


@pytest.fixture
def book(database: Database) -> Database:
    """An admin (root), a compliance reviewer (cora) and a trader (tina), none with a second factor."""
    with database.transaction() as s:
        users.create_user(s, None, "root", "Root", "admin", PW["root"])
        users.create_user(s, "root", "cora", "Cora", "compliance", PW["cora"])
        users.create_user(s, "root", "tina", "Tina", "trader", PW["tina"])
    return database


def actions(database: Database, username: str) -> list[str]:
    with database.session() as s:
        return list(
            s.scalars(
                select(AuditEntry.action).where(AuditEntry.username == username).order_by(AuditEntry.id)
            )
        )


def row(database: Database, username: str) -> User:
    with database.session() as s:
        u = s.scalars(select(User).where(User.username == username)).one()
        s.expunge(u)
        return u


def enrol(database: Database, username: str, at: datetime = T0) -> tuple[str, list[str]]:
    """Enrol and confirm as the user does (signing in to enrol first); the secret and recovery codes."""
    who = sign_in(database, username, PW[username], now=at, enrolling=True)
    with database.transaction() as s:
        secret = mfa.begin_enrolment(s, who.username, username, now=at).secret
    with database.transaction() as s:
        codes = mfa.confirm(s, username, username, code_at(secret, at), now=at)
    return secret, codes


def test_a_role_that_needs_a_second_factor_signs_in_only_to_enrol(book: Database) -> None:
    for name in ("cora", "root"):
        with pytest.raises(SecondFactorMissing, match=f"users mfa enrol {name}"):
            sign_in(book, name, PW[name], now=T0)
        assert actions(book, name)[-1] == "mfa.required" and row(book, name).failed_logins == 0
        who = sign_in(book, name, PW[name], now=T0, enrolling=True)
        assert who.enrol_only and actions(book, name)[-1] == "login.success"
    # A wrong password is still a wrong password, enrolling or not.
    with pytest.raises(AuthenticationFailed, match="wrong user name or password"):
        sign_in(book, "cora", "not cora's password", now=T0, enrolling=True)
    # A trader needs none by default (and is not enrol-only)...
    assert not sign_in(book, "tina", PW["tina"], now=T0).enrol_only
    # ...until the book's policy (data, set by an admin, audited) adds the trader role.
    with book.transaction() as s:
        assert mfa.set_required_roles(s, "root", ["trader"], "desk policy") == {
            "trader",
            "compliance",
            "admin",
        }
    with pytest.raises(SecondFactorMissing):
        sign_in(book, "tina", PW["tina"], now=T0)
    # Compliance and admin can never be dropped from the policy.
    with book.transaction() as s:
        assert mfa.set_required_roles(s, "root", [], "undo") == mfa.REQUIRED_ALWAYS
        assert mfa.required_roles(s) == {"compliance", "admin"}
    with pytest.raises(PermissionDenied), book.transaction() as s:
        mfa.set_required_roles(s, "tina", [], "mine")
    assert actions(book, "root")[-2:] == ["mfa.policy", "mfa.policy"]


def test_enrol_confirm_and_sign_in_with_the_code(book: Database) -> None:
    secret, codes = enrol(book, "cora")
    assert len(codes) == mfa.RECOVERY_CODES == len(set(codes))
    u = row(book, "cora")
    assert u.totp_confirmed_at == T0 and u.totp_last_step == step_of(T0)
    assert all(h.startswith("$argon2id$") for h in u.recovery_hashes or [])
    later = T0 + 2 * STEP
    who = sign_in(book, "cora", PW["cora"], now=later, code=code_at(secret, later))
    assert (who.username, who.enrol_only, who.demo) == ("cora", False, False)
    assert actions(book, "cora") == [
        "login.success",  # signed in to enrol
        "mfa.enrol",
        "mfa.confirm",
        "mfa.success",
        "login.success",
    ]
    with book.session() as s:
        assert verify_chain(s).ok
        for e in s.scalars(select(AuditEntry)):  # the secret is never written to the audit log
            assert secret not in repr((e.before, e.after, e.reason))
    # Without the code, the right password alone is refused (and counted).
    with pytest.raises(AuthenticationFailed, match=WRONG):
        sign_in(book, "cora", PW["cora"], now=later + STEP)
    assert row(book, "cora").failed_logins == 1 and actions(book, "cora")[-1] == "mfa.failure"
    # A wrong password says the same as a missing or wrong code: no oracle for a guessed password.
    with pytest.raises(AuthenticationFailed) as wrong_password:
        sign_in(book, "cora", "a guessed password", now=later + STEP, code=code_at(secret, later + STEP))
    assert str(wrong_password.value) == WRONG_WITH_CODE
    with book.session() as s:
        reasons = s.scalars(
            select(AuditEntry.reason).where(AuditEntry.username == "cora").order_by(AuditEntry.id.desc())
        ).all()[:2]
    assert reasons == ["wrong password", "no code"] and row(book, "cora").failed_logins == 2


def test_enrolment_is_the_owners_and_happens_once(book: Database) -> None:
    with pytest.raises(WorkstationError, match="enrolled by its owner"), book.transaction() as s:
        mfa.begin_enrolment(s, "root", "cora", now=T0)
    with book.transaction() as s:
        first = mfa.begin_enrolment(s, "cora", "cora", now=T0)
    with pytest.raises(AuthenticationFailed, match="wrong code"), book.transaction() as s:
        mfa.confirm(
            s, "cora", "cora", "000000" if code_at(first.secret, T0) != "000000" else "111111", now=T0
        )
    assert row(book, "cora").totp_confirmed_at is None and actions(book, "cora")[-1] == "mfa.failure"
    # Enrolling again before confirming issues a new secret; the old one no longer confirms.
    with book.transaction() as s:
        second = mfa.begin_enrolment(s, "cora", "cora", now=T0)
    assert second.secret != first.secret and second.uri.startswith("otpauth://totp/SMA%20Workstation:cora?")
    with book.transaction() as s:
        mfa.confirm(s, "cora", "cora", code_at(second.secret, T0), now=T0)
    with pytest.raises(WorkstationError, match="already has a second factor"), book.transaction() as s:
        mfa.begin_enrolment(s, "cora", "cora", now=T0)


def test_the_step_either_side_is_accepted_for_clock_drift(book: Database) -> None:
    secret, _ = enrol(book, "cora")
    at = T0 + 10 * STEP
    assert sign_in(book, "cora", PW["cora"], now=at, code=code_at(secret, at - STEP)).username == "cora"
    at += 10 * STEP
    assert sign_in(book, "cora", PW["cora"], now=at, code=code_at(secret, at + STEP)).username == "cora"
    at += 10 * STEP
    with pytest.raises(AuthenticationFailed, match=WRONG):
        sign_in(book, "cora", PW["cora"], now=at, code=code_at(secret, at - 3 * STEP))


def test_a_code_is_refused_a_second_time(book: Database) -> None:
    secret, _ = enrol(book, "cora")
    at = T0 + 5 * STEP
    code = code_at(secret, at)
    sign_in(book, "cora", PW["cora"], now=at, code=code)
    with pytest.raises(AuthenticationFailed, match=WRONG):
        sign_in(book, "cora", PW["cora"], now=at + timedelta(seconds=10), code=code)
    # The code of the step before the one used is also spent (it is older), though in the window.
    with pytest.raises(AuthenticationFailed, match=WRONG):
        sign_in(book, "cora", PW["cora"], now=at, code=code_at(secret, at - STEP))
    assert row(book, "cora").failed_logins == 2
    assert actions(book, "cora")[-2:] == ["mfa.failure", "mfa.failure"]
    with book.session() as s:
        reasons = s.scalars(
            select(AuditEntry.reason).where(AuditEntry.action == "mfa.failure").order_by(AuditEntry.id)
        ).all()
    assert reasons == ["code already used", "code already used"]
    # The next step's code works, and clears the count.
    sign_in(book, "cora", PW["cora"], now=at + STEP, code=code_at(secret, at + STEP))
    assert row(book, "cora").failed_logins == 0


def test_wrong_codes_lock_the_user_out_like_wrong_passwords(book: Database) -> None:
    secret, _ = enrol(book, "cora")
    at = T0 + 4 * STEP
    wrong = next(
        c
        for c in ("123456", "654321", "111111")
        if c not in {code_at(secret, at + k * STEP) for k in (-1, 0, 1)}
    )
    # A right password never clears the count while the code is wrong (no alternating around it).
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(AuthenticationFailed, match=WRONG):
            sign_in(book, "cora", PW["cora"], now=at, code=wrong)
    with pytest.raises(AuthenticationFailed, match="locked for 15 minutes"):
        sign_in(book, "cora", PW["cora"], now=at, code=wrong)
    u = row(book, "cora")
    assert u.failed_logins == MAX_FAILURES and u.locked_until == at + timedelta(minutes=15)
    with pytest.raises(AuthenticationFailed, match="locked until"):
        sign_in(book, "cora", PW["cora"], now=at + STEP, code=code_at(secret, at + STEP))
    assert actions(book, "cora")[-7:] == ["mfa.failure"] * MAX_FAILURES + ["login.lockout", "login.locked"]
    later = at + timedelta(minutes=16)
    assert sign_in(book, "cora", PW["cora"], now=later, code=code_at(secret, later)).username == "cora"


def test_a_recovery_code_works_once(book: Database) -> None:
    _, codes = enrol(book, "cora")
    at = T0 + 3 * STEP
    assert sign_in(book, "cora", PW["cora"], now=at, code=codes[3].upper()).username == "cora"
    assert actions(book, "cora")[-2:] == ["mfa.recovery_used", "login.success"]
    assert len(row(book, "cora").recovery_hashes or []) == mfa.RECOVERY_CODES - 1
    with pytest.raises(AuthenticationFailed, match=WRONG):
        sign_in(book, "cora", PW["cora"], now=at + STEP, code=codes[3])
    with book.session() as s:
        left = s.scalars(select(AuditEntry.after).where(AuditEntry.action == "mfa.recovery_used")).one()
    assert left == {"recovery_codes_left": mfa.RECOVERY_CODES - 1}
    # New codes replace the old ones, by their owner only.
    with pytest.raises(WorkstationError, match="renewed by their owner"), book.transaction() as s:
        mfa.new_recovery_codes(s, "root", "cora", now=at)
    with book.transaction() as s:
        fresh = mfa.new_recovery_codes(s, "cora", "cora", now=at)
    assert not set(fresh) & set(codes)
    with pytest.raises(AuthenticationFailed):
        sign_in(book, "cora", PW["cora"], now=at + 2 * STEP, code=codes[0])
    assert sign_in(book, "cora", PW["cora"], now=at + 2 * STEP, code=fresh[0]).username == "cora"
    assert "mfa.recovery" in actions(book, "cora")


def test_an_admin_resets_another_users_second_factor(book: Database) -> None:
    secret, _ = enrol(book, "cora")
    enrol(book, "root")
    with pytest.raises(PermissionDenied), book.transaction() as s:
        mfa.reset(s, "tina", "cora", "lost phone")
    with pytest.raises(WorkstationError, match="nobody resets their own"), book.transaction() as s:
        mfa.reset(s, "root", "root", "mine")
    with book.transaction() as s:
        mfa.reset(s, "root", "cora", "lost phone", now=T0 + STEP)
    u = row(book, "cora")
    assert (u.totp_secret, u.totp_confirmed_at, u.totp_last_step, u.recovery_hashes) == (
        None,
        None,
        None,
        None,
    )
    with book.session() as s:
        e = s.scalars(select(AuditEntry).where(AuditEntry.action == "mfa.reset")).one()
        assert (e.username, e.reason, e.before, e.after) == (
            "root",
            "lost phone",
            {"enrolled": True, "recovery_codes": mfa.RECOVERY_CODES},
            {"enrolled": False},
        )
    # The old phone's codes are worthless; cora must enrol again before doing anything else.
    at = T0 + 3 * STEP
    with pytest.raises(SecondFactorMissing):
        sign_in(book, "cora", PW["cora"], now=at, code=code_at(secret, at))
    assert sign_in(book, "cora", PW["cora"], now=at, enrolling=True).enrol_only
    with book.session() as s:
        listed = {r["username"]: r["second_factor"] for r in users.list_users(s)}
    assert listed == {"cora": "none", "root": "totp", "tina": "none"}


def test_the_demo_books_demo_users_stay_without_password_or_code(demo: Database) -> None:
    who = sign_in(demo, "cora.compliance", None)
    assert who.demo and not who.enrol_only and who.role == "compliance"
    assert sign_in(demo, "ada.admin", None).demo
    with pytest.raises(WorkstationError, match="no password"), demo.transaction() as s:
        mfa.begin_enrolment(s, "tara.trader", "tara.trader", now=T0)
