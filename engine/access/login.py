"""Desktop login against the local user store: argon2 hashes, lock-out after repeated failures.

Every attempt is audited. Failures are committed in their own transaction before the error is
raised, so a caller's rollback cannot erase the failure count or the audit entry.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select

from engine.access.errors import AuthenticationFailed
from engine.audit.chain import record
from engine.store.database import Database
from engine.store.people import User

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD = 10
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash; refuses passwords shorter than MIN_PASSWORD characters."""
    if len(password) < MIN_PASSWORD:
        raise AuthenticationFailed(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def login(database: Database, username: str, password: str, now: datetime | None = None) -> User:
    """The user if the password is right and the account is neither locked nor inactive."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    failure: str | None = None
    with database.transaction() as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is None or user.password_hash is None or not user.active:
            record(session, username, "login.failure", "user", username, reason="unknown or inactive user")
            failure = "wrong user name or password"
        elif user.locked_until is not None and user.locked_until > now:
            record(session, username, "login.locked", "user", user.id, reason="attempt while locked out")
            failure = f"account locked until {user.locked_until:%Y-%m-%d %H:%M} UTC after repeated failures"
        else:
            try:
                _hasher.verify(user.password_hash, password)
                ok = True
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                ok = False
            if ok:
                before = {"failed_logins": user.failed_logins}
                user.failed_logins = 0
                user.locked_until = None
                if _hasher.check_needs_rehash(user.password_hash):
                    user.password_hash = _hasher.hash(password)
                record(session, username, "login.success", "user", user.id, before=before, at=now)
                session.flush()
                session.expunge(user)
                return user
            user.failed_logins = (user.failed_logins or 0) + 1
            after: dict[str, object] = {"failed_logins": user.failed_logins}
            if user.failed_logins >= MAX_FAILURES:
                user.locked_until = now + LOCKOUT
                after["locked_until"] = user.locked_until
                record(
                    session,
                    username,
                    "login.lockout",
                    "user",
                    user.id,
                    after=after,
                    reason="too many failures",
                )
                failure = f"wrong password; account locked for {int(LOCKOUT.total_seconds() // 60)} minutes"
            else:
                record(
                    session, username, "login.failure", "user", user.id, after=after, reason="wrong password"
                )
                failure = "wrong user name or password"
    raise AuthenticationFailed(failure)
