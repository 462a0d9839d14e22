"""The second factor: TOTP enrolment and confirmation, recovery codes, an admin's reset, and the
roles that must have one (compliance and admin always; more as data in `book_meta`).

A user enrols their own factor: a new secret (shown once, as an otpauth:// URI and QR code),
confirmed by a first valid code, which also hands out RECOVERY_CODES one-time recovery codes
(stored as argon2 hashes, each struck off when used). Every step is audited; the secret never is.

The secret is stored sealed (engine.access.sealed, a key from the OS keychain through the
session's SecretBox): without the key, enrolment and the second factor are refused, never
weakened. A secret stored in clear by an older version is sealed at its next use or by
`seal_clear_secrets`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.errors import AuthenticationFailed
from engine.access.guard import require
from engine.access.permissions import Permission
from engine.access.sealed import is_sealed
from engine.access.totp import matching_step, new_secret, otpauth_uri
from engine.audit.chain import record, record_separately
from engine.errors import NotFound, WorkstationError
from engine.model.enums import Role
from engine.store.database import Database
from engine.store.meta import BookMeta
from engine.store.people import User
from engine.store.sealing import SecretKeyUnavailable, secret_box

ISSUER = "SMA Workstation"
REQUIRED_ALWAYS = frozenset({Role.COMPLIANCE.value, Role.ADMIN.value})
"""Roles that always need a second factor, whatever the book's policy adds."""
POLICY_KEY = "mfa.required_roles"
"""`book_meta` key: a JSON list of further roles that need a second factor."""
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud or typed from paper
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
"""argon2id at OWASP's minimum profile: a recovery code is random (about 49 bits), not a chosen
password, and a sign-in may try all ten hashes."""


@dataclass(frozen=True)
class Enrolment:
    """A started enrolment: the secret and its otpauth:// URI, shown to the user this once."""

    username: str
    secret: str
    uri: str


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


def _user(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def required_roles(session: Session) -> frozenset[str]:
    """The roles that must sign in with a second factor: REQUIRED_ALWAYS and the book's additions."""
    row = session.get(BookMeta, POLICY_KEY)
    extra = json.loads(row.value) if row is not None else []
    return REQUIRED_ALWAYS | frozenset(str(r) for r in extra)


def set_required_roles(session: Session, actor: str, roles: Iterable[str], reason: str) -> frozenset[str]:
    """An admin sets which roles need a second factor (never fewer than REQUIRED_ALWAYS); audited."""
    require(session, actor, Permission.USERS_ADMIN)
    wanted: set[str] = set()
    for value in roles:
        try:
            wanted.add(Role(value).value)
        except ValueError:
            raise WorkstationError(
                f"unknown role {value!r}; one of {', '.join(r.value for r in Role)}"
            ) from None
    before = sorted(required_roles(session))
    extra = sorted(wanted - REQUIRED_ALWAYS)
    row = session.get(BookMeta, POLICY_KEY)
    if row is None:
        session.add(BookMeta(key=POLICY_KEY, value=json.dumps(extra)))
    else:
        row.value = json.dumps(extra)
    session.flush()
    after = sorted(REQUIRED_ALWAYS | set(extra))
    record(
        session,
        actor,
        "mfa.policy",
        "book_meta",
        POLICY_KEY,
        before={"roles": before},
        after={"roles": after},
        reason=reason,
    )
    return frozenset(after)


def is_enrolled(user: User) -> bool:
    """Whether the user has a confirmed second factor (a pending enrolment does not count)."""
    return user.totp_secret is not None and user.totp_confirmed_at is not None


def must_enrol(session: Session, user: User) -> bool:
    """A user whose role needs a second factor and who has none confirmed: may sign in only to enrol."""
    return not is_enrolled(user) and user.role in required_roles(session)


def second_factor_users(database: Database) -> frozenset[str]:
    """The users who are asked for a code after their password (for the login dialog and the CLI prompt)."""
    with database.session() as s:
        return frozenset(
            s.scalars(
                select(User.username).where(
                    User.totp_secret.is_not(None), User.totp_confirmed_at.is_not(None)
                )
            )
        )


def begin_enrolment(session: Session, actor: str, username: str, now: datetime | None = None) -> Enrolment:
    """Start (or restart, before it is confirmed) the user's own enrolment: a new secret, shown once."""
    if actor != username:
        raise WorkstationError("a second factor is enrolled by its owner; an admin may only reset it")
    user = _user(session, username)
    if user.password_hash is None:
        raise WorkstationError(f"{username} has no password: a second factor comes after a password")
    if is_enrolled(user):
        raise WorkstationError(
            f"{username} already has a second factor; an admin resets it first (`workstation users mfa reset`)"
        )
    secret = new_secret()
    sealed = secret_box(session).seal(secret)
    user.totp_secret, user.totp_confirmed_at, user.totp_last_step, user.recovery_hashes = (
        sealed,
        None,
        None,
        None,
    )
    record(
        session,
        actor,
        "mfa.enrol",
        "user",
        user.id,
        reason="TOTP secret issued, awaiting a first code",
        at=_now(now),
    )
    return Enrolment(username, secret, otpauth_uri(secret, username, ISSUER))


def _secret(session: Session, user: User) -> str:
    """The user's TOTP secret, opened with the session's key (SecretKeyUnavailable without it).

    A secret stored in clear by an older version is sealed now, in the caller's transaction
    (audited `mfa.sealed`); that too needs the key, so no key means no second factor at all.
    """
    stored = user.totp_secret
    if stored is None:
        raise WorkstationError(f"{user.username} has no second factor")
    box = secret_box(session)
    if not is_sealed(stored):
        user.totp_secret = box.seal(stored)
        record(session, user.username, "mfa.sealed", "user", user.id, reason="clear TOTP secret sealed")
        return stored
    try:
        return box.open(stored)
    except ValueError:
        raise SecretKeyUnavailable(
            f"the second-factor secret of {user.username} does not open with this machine's key "
            "(another key in the OS keychain, or the stored value was altered): the second factor is refused"
        ) from None


def clear_secrets(session: Session) -> list[User]:
    """Users whose TOTP secret is still stored in clear (by a version before sealing)."""
    users = session.scalars(select(User).where(User.totp_secret.is_not(None))).all()
    return [u for u in users if u.totp_secret is not None and not is_sealed(u.totp_secret)]


def seal_clear_secrets(session: Session, actor: str, reason: str, *, enforce_permission: bool = True) -> int:
    """Seal every TOTP secret still stored in clear; how many, audited `mfa.seal`.

    An admin's command (`users.admin`); `enforce_permission=False` only for the composition root
    right after it migrated the book (actor `migration`), which acts for nobody.
    """
    if enforce_permission:
        require(session, actor, Permission.USERS_ADMIN)
    box = secret_box(session)
    clear = clear_secrets(session)
    if not clear and not enforce_permission:
        return 0
    for u in clear:
        u.totp_secret = box.seal(u.totp_secret or "")
    record(
        session, actor, "mfa.seal", "user", None, after={"sealed": [u.username for u in clear]}, reason=reason
    )
    return len(clear)


def _recovery_codes(user: User) -> list[str]:
    codes = [
        "-".join("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(2))
        for _ in range(RECOVERY_CODES)
    ]
    user.recovery_hashes = [_hasher.hash(_plain(c)) for c in codes]
    return codes


def _plain(code: str) -> str:
    return code.strip().lower().replace("-", "").replace(" ", "")


def confirm(session: Session, actor: str, username: str, code: str, now: datetime | None = None) -> list[str]:
    """Confirm a pending enrolment with a first valid code; the user's recovery codes, shown once.

    A wrong code is audited `mfa.failure` (kept even though the caller rolls back) and refused.
    """
    at = _now(now)
    if actor != username:
        raise WorkstationError("a second factor is confirmed by its owner")
    user = _user(session, username)
    if user.totp_secret is None or is_enrolled(user):
        raise WorkstationError(
            f"{username} has no enrolment waiting: start one with `workstation users mfa enrol`"
        )
    step = matching_step(_secret(session, user), code, at)
    if step is None:
        record_separately(
            session, actor, "mfa.failure", "user", entity_id=user.id, reason="wrong code confirming enrolment"
        )
        raise AuthenticationFailed("wrong code: check the authenticator app's time and try the next code")
    user.totp_confirmed_at, user.totp_last_step = at, step
    codes = _recovery_codes(user)
    record(session, actor, "mfa.confirm", "user", user.id, after={"recovery_codes": len(codes)}, at=at)
    return codes


def new_recovery_codes(session: Session, actor: str, username: str, now: datetime | None = None) -> list[str]:
    """Replace the user's recovery codes (the old ones stop working); their owner only, audited."""
    if actor != username:
        raise WorkstationError(
            "recovery codes are renewed by their owner; an admin may only reset the factor"
        )
    user = _user(session, username)
    if not is_enrolled(user):
        raise WorkstationError(f"{username} has no second factor to renew recovery codes for")
    before = len(user.recovery_hashes or [])
    codes = _recovery_codes(user)
    record(
        session,
        actor,
        "mfa.recovery",
        "user",
        user.id,
        before={"recovery_codes": before},
        after={"recovery_codes": len(codes)},
        at=_now(now),
    )
    return codes


def reset(session: Session, actor: str, username: str, reason: str, now: datetime | None = None) -> None:
    """An admin clears another user's second factor (lost phone); they enrol again at next sign-in."""
    require(session, actor, Permission.USERS_ADMIN)
    if actor == username:
        raise WorkstationError("nobody resets their own second factor: another admin does")
    user = _user(session, username)
    before = {"enrolled": is_enrolled(user), "recovery_codes": len(user.recovery_hashes or [])}
    user.totp_secret, user.totp_confirmed_at, user.totp_last_step, user.recovery_hashes = (
        None,
        None,
        None,
        None,
    )
    record(
        session,
        actor,
        "mfa.reset",
        "user",
        user.id,
        before=before,
        after={"enrolled": False},
        reason=reason,
        at=_now(now),
    )


def check_code(session: Session, user: User, code: str | None, at: datetime) -> str | None:
    """At sign-in, inside login's transaction: None if `code` is a fresh TOTP code or an unused
    recovery code (audited `mfa.success` / `mfa.recovery_used`, the step or code consumed), else
    why not (the caller audits `mfa.failure` and counts it toward the lock-out).

    Raises SecretKeyUnavailable when the secret cannot be opened (no key): refused, not a failure.
    """
    if not code or not code.strip():
        return "no code"
    if user.totp_secret is None:
        return "no second factor"
    step = matching_step(_secret(session, user), code, at)
    if step is not None:
        if user.totp_last_step is not None and step <= user.totp_last_step:
            return "code already used"
        user.totp_last_step = step
        record(session, user.username, "mfa.success", "user", user.id, at=at)
        return None
    plain = _plain(code)
    if plain.isdigit():  # a TOTP code outside the window; recovery codes have letters
        return "wrong code"
    hashes = list(user.recovery_hashes or [])
    for h in hashes:
        try:
            _hasher.verify(h, plain)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            continue
        hashes.remove(h)
        user.recovery_hashes = hashes
        record(
            session,
            user.username,
            "mfa.recovery_used",
            "user",
            user.id,
            after={"recovery_codes_left": len(hashes)},
            at=at,
        )
        return None
    return "wrong code"
