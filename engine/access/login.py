"""Login against the local user store: argon2 hashes, a second factor, lock-out after repeated failures.

Every attempt is audited. The password and the second factor (engine.access.mfa) are checked in
one transaction, and only both together clear the failure count: a wrong code counts toward the
same lock-out as a wrong password. Failures are committed before the error is raised, so a
caller's rollback cannot erase the failure count or the audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select

from engine.access import mfa
from engine.access.errors import AuthenticationFailed, SecondFactorMissing, SecondFactorUnavailable
from engine.audit.chain import record
from engine.store.database import Database
from engine.store.people import User
from engine.store.sealing import SecretKeyUnavailable

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD = 10
_hasher = PasswordHasher()
WRONG_WITH_CODE = (
    "wrong user name or password, or wrong code (each code works once: a new one comes every 30 s)"
)
"""What a user with a second factor is told for a wrong password, a wrong, missing or replayed
code alike: which one failed is in the audit log (reason), not in the answer to a guesser."""


@dataclass(frozen=True)
class LoggedIn:
    """A successful login; `enrol_only` when the role needs a second factor the user has yet to confirm."""

    user: User
    enrol_only: bool


def hash_password(password: str) -> str:
    """An argon2id hash; refuses passwords shorter than MIN_PASSWORD characters."""
    if len(password) < MIN_PASSWORD:
        raise AuthenticationFailed(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def _password_ok(user: User, password: str) -> bool:
    if user.password_hash is None:
        return False
    try:
        return bool(_hasher.verify(user.password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def login(database: Database, username: str, password: str, now: datetime | None = None) -> User:
    """The user if the password is right (for users without a second factor; see authenticate)."""
    return authenticate(database, username, password, now).user


def authenticate(
    database: Database,
    username: str,
    password: str,
    now: datetime | None = None,
    code: str | None = None,
    enrolling: bool = False,
) -> LoggedIn:
    """The user if the password (and, once enrolled, the second factor's code) is right and the
    account is neither locked nor inactive.

    A user whose role needs a second factor and who has none confirmed is let in only with
    `enrolling` (to enrol); otherwise SecondFactorMissing, audited `mfa.required`.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    failure: str | None = None
    missing: str | None = None
    unavailable: str | None = None
    with database.transaction() as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None or user.password_hash is None or not user.active:
            record(
                session,
                username,
                "login.failure",
                "user",
                username,
                reason="unknown or inactive user",
                at=now,
            )
            failure = "wrong user name or password"
        elif user.locked_until is not None and user.locked_until > now:
            record(
                session, username, "login.locked", "user", user.id, reason="attempt while locked out", at=now
            )
            failure = f"account locked until {user.locked_until:%Y-%m-%d %H:%M} UTC after repeated failures"
        else:
            action, why = "login.failure", "wrong password"
            ok = _password_ok(user, password)
            enrol_only = False
            if ok and mfa.is_enrolled(user):
                try:
                    refused = mfa.check_code(session, user, code, now)
                except SecretKeyUnavailable as exc:  # fail closed, but not the user's failure
                    refused, unavailable = None, str(exc)
                    record(session, username, "mfa.unavailable", "user", user.id, reason=unavailable, at=now)
                if refused is not None:
                    ok, action, why = False, "mfa.failure", refused
            elif ok and mfa.must_enrol(session, user) and not enrolling:
                record(
                    session,
                    username,
                    "mfa.required",
                    "user",
                    user.id,
                    reason=f"role {user.role} needs a second factor",
                    at=now,
                )
                missing = (
                    f"the role {user.role} needs a second factor and {username} has none yet: "
                    f"enrol with `workstation users mfa enrol {username}` or from the login dialog"
                )
            elif ok:
                enrol_only = mfa.must_enrol(session, user)
            if unavailable is not None:
                pass
            elif ok and missing is None:
                before = {"failed_logins": user.failed_logins}
                user.failed_logins = 0
                user.locked_until = None
                if _hasher.check_needs_rehash(user.password_hash):
                    user.password_hash = _hasher.hash(password)
                record(
                    session,
                    username,
                    "login.success",
                    "user",
                    user.id,
                    before=before,
                    reason="to enrol a second factor only" if enrol_only else None,
                    at=now,
                )
                session.flush()
                session.expunge(user)
                return LoggedIn(user, enrol_only)
            elif missing is None:
                user.failed_logins = (user.failed_logins or 0) + 1
                after: dict[str, object] = {"failed_logins": user.failed_logins}
                if user.failed_logins >= MAX_FAILURES:
                    user.locked_until = now + LOCKOUT
                    after["locked_until"] = user.locked_until
                    if action == "mfa.failure":
                        record(
                            session, username, action, "user", user.id, after=dict(after), reason=why, at=now
                        )
                    record(
                        session,
                        username,
                        "login.lockout",
                        "user",
                        user.id,
                        after=after,
                        reason="too many failures",
                        at=now,
                    )
                    said = WRONG_WITH_CODE if mfa.is_enrolled(user) else "wrong password"
                    failure = f"{said}; account locked for {int(LOCKOUT.total_seconds() // 60)} minutes"
                else:
                    record(session, username, action, "user", user.id, after=after, reason=why, at=now)
                    failure = WRONG_WITH_CODE if mfa.is_enrolled(user) else "wrong user name or password"
    if unavailable is not None:
        raise SecondFactorUnavailable(unavailable)
    if missing is not None:
        raise SecondFactorMissing(missing)
    raise AuthenticationFailed(failure)
