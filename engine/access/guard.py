"""`require`: the one gate every engine service passes before it changes anything."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.permissions import Permission, permissions_of
from engine.audit.chain import record_separately
from engine.errors import PermissionDenied
from engine.store.people import User


def require(session: Session, username: str, permission: Permission | str) -> User:
    """The active user `username` if their role grants `permission`.

    Otherwise the refusal is written to the audit log in its own transaction (it survives the
    caller's rollback) and PermissionDenied is raised. Call it before the service writes.
    """
    perm = Permission(permission)
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is not None and user.active and perm in permissions_of(user.role):
        return user
    why = "unknown user" if user is None else ("inactive user" if not user.active else f"role {user.role}")
    record_separately(
        session,
        username,
        "permission.denied",
        "permission",
        entity_id=perm.value,
        after={"permission": perm.value, "role": None if user is None else user.role},
        reason=why,
    )
    raise PermissionDenied(username, perm.value)


def has_permission(session: Session, username: str, permission: Permission | str) -> bool:
    """Whether the user could do it (for showing or hiding a button; never instead of require)."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    return bool(user and user.active and Permission(permission) in permissions_of(user.role))
