"""Who may log in: users from the users table; a password is checked only where a hash is stored.

Issue 5 (access) owns authentication; when its service lands, `authenticate` calls it instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from engine.errors import PermissionDenied
from engine.store.database import Database
from engine.store.people import User

ROLE_WORKSPACE = {
    "portfolio_manager": "pm",
    "compliance": "compliance",
    "trader": "trader",
    "admin": "pm",
}


@dataclass(frozen=True)
class DeskUser:
    username: str
    display_name: str
    role: str
    has_password: bool

    @property
    def workspace(self) -> str:
        return ROLE_WORKSPACE.get(self.role, "pm")


def desk_users(database: Database) -> list[DeskUser]:
    with database.session() as s:
        rows = s.execute(
            select(User.username, User.display_name, User.role, User.password_hash)
            .where(User.active.is_(True))
            .order_by(User.username)
        ).all()
    return [DeskUser(u, d, r, bool(h)) for u, d, r, h in rows]


def authenticate(database: Database, username: str, password: str | None) -> DeskUser:
    """The user if active and (when a password hash is stored) the password matches."""
    with database.session() as s:
        user = s.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None or not user.active:
        raise PermissionDenied(username, "login")
    if user.password_hash:
        try:
            PasswordHasher().verify(user.password_hash, password or "")
        except (VerificationError, InvalidHashError):
            raise PermissionDenied(username, "login (wrong password)") from None
    return DeskUser(user.username, user.display_name, user.role, bool(user.password_hash))
