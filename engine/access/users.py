"""The local user store: create users, set passwords, change roles, unlock. Admin only, audited.

The firm is never locked out: the last active admin who can sign in cannot be disabled or
demoted (LastAdmin, the refusal audited, nothing changed; users are never deleted, only
disabled, so the audit log keeps naming them). Only a book with no users at all may create its
first admin without an admin signed in.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.access.errors import LastAdmin
from engine.access.guard import require
from engine.access.login import hash_password
from engine.access.permissions import Permission
from engine.access.signin import DEMO_USERNAMES, is_simulated_demo
from engine.audit.chain import record, record_separately
from engine.errors import NotFound, WorkstationError
from engine.model.enums import Role
from engine.store.people import User


def _role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise WorkstationError(f"unknown role {value!r}; one of {', '.join(r.value for r in Role)}") from None


def _get(session: Session, username: str) -> User:
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def needs_bootstrap(session: Session) -> bool:
    """True only for a book with no users at all: its first admin may be created without one."""
    return session.execute(select(func.count()).select_from(User)).scalar_one() == 0


def _admins_who_can_sign_in(session: Session) -> set[str]:
    """Active admins with a password (or the demo book's password-less demo admin).

    Their rows are locked (PostgreSQL) so two admins disabling each other at once cannot both pass:
    the second waits, then sees the first's change. FOR NO KEY UPDATE, so that an audit entry
    naming one of them (a foreign key) can still be written by record_separately meanwhile.
    """
    admins = session.scalars(
        select(User)
        .where(User.role == Role.ADMIN.value, User.active.is_(True))
        .with_for_update(key_share=True)
    ).all()
    demo = is_simulated_demo(session)
    return {
        u.username for u in admins if u.password_hash is not None or (demo and u.username in DEMO_USERNAMES)
    }


def _keep_an_admin(session: Session, actor: str, user: User, action: str) -> None:
    """Refuse (audited, before anything is written) a change that leaves no admin to sign in."""
    admins = _admins_who_can_sign_in(session)
    if user.username not in admins or admins - {user.username}:
        return  # another admin can still sign in
    record_separately(
        session,
        actor,
        "user.refused",
        "user",
        entity_id=user.id,
        after={"username": user.username, "action": action},
        reason="the last active admin",
    )
    raise LastAdmin(
        f"{user.username} is the last active admin: {action} refused, nothing changed "
        "(add or enable another admin first)"
    )


def create_user(
    session: Session, actor: str | None, username: str, display_name: str, role: str, password: str | None
) -> User:
    """Add a user. In a book with no users at all, the first admin may be created with actor None."""
    r = _role(role)
    if actor is None:
        if not (needs_bootstrap(session) and r is Role.ADMIN):
            raise WorkstationError(
                "only the first admin of a book with no users can be created without signing in as an admin"
            )
        actor = username
    else:
        require(session, actor, Permission.USERS_ADMIN)
    existing = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if existing is not None and existing.password_hash is not None:
        raise WorkstationError(f"user {username!r} already exists")
    if existing is not None and existing.role == Role.ADMIN.value and r is not Role.ADMIN:
        _keep_an_admin(session, actor, existing, f"role {r.value}")
    pw = hash_password(password) if password is not None else None
    if existing is not None:  # a demo user without a password: give it one and a role
        before = {"role": existing.role, "display_name": existing.display_name}
        existing.role, existing.display_name, existing.password_hash = r.value, display_name, pw
        user = existing
    else:
        before = None
        user = User(username=username, display_name=display_name, role=r.value, password_hash=pw, active=True)
        session.add(user)
    session.flush()
    record(
        session,
        actor,
        "user.create",
        "user",
        user.id,
        before=before,
        after={"username": username, "role": r.value, "display_name": display_name},
    )
    return user


def set_password(session: Session, actor: str, username: str, password: str) -> None:
    """Admins set anyone's password; a user may set their own."""
    if actor != username:
        require(session, actor, Permission.USERS_ADMIN)
    user = _get(session, username)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    record(session, actor, "user.password", "user", user.id, reason="password set")


def set_role(session: Session, actor: str, username: str, role: str, reason: str) -> None:
    require(session, actor, Permission.USERS_ADMIN)
    if actor == username:
        raise WorkstationError("nobody changes their own role")
    user = _get(session, username)
    new = _role(role)
    if user.role == Role.ADMIN.value and new is not Role.ADMIN:
        _keep_an_admin(session, actor, user, f"role {new.value}")
    before = {"role": user.role}
    user.role = new.value
    record(
        session, actor, "user.role", "user", user.id, before=before, after={"role": user.role}, reason=reason
    )


def set_active(session: Session, actor: str, username: str, active: bool, reason: str) -> None:
    require(session, actor, Permission.USERS_ADMIN)
    user = _get(session, username)
    if not active and user.role == Role.ADMIN.value:
        _keep_an_admin(session, actor, user, "disable")
    before = {"active": user.active}
    user.active = active
    record(
        session, actor, "user.active", "user", user.id, before=before, after={"active": active}, reason=reason
    )


def unlock(session: Session, actor: str, username: str, reason: str) -> None:
    require(session, actor, Permission.USERS_ADMIN)
    user = _get(session, username)
    before = {"failed_logins": user.failed_logins, "locked_until": user.locked_until}
    user.failed_logins = 0
    user.locked_until = None
    record(session, actor, "user.unlock", "user", user.id, before=before, reason=reason)


def list_users(session: Session) -> list[dict[str, object]]:
    return [
        {
            "username": u.username,
            "display_name": u.display_name,
            "role": u.role,
            "active": u.active,
            "has_password": u.password_hash is not None,
            "failed_logins": u.failed_logins,
            "locked_until": u.locked_until,
            "second_factor": "totp" if u.totp_confirmed_at else ("pending" if u.totp_secret else "none"),
        }
        for u in session.scalars(select(User).order_by(User.username))
    ]
