"""Who may log in to the desk: engine.access.login checks passwords (argon2id, lock-out, audit).

The only exception is a user without a password in the simulated demo book: engine.access lets such
a user act by role (engine.access.guard.require) but its login refuses users without a hash, so the
desk opens them without a password, audited as `login.demo`, and only while the book is a demo.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from engine.access.login import login
from engine.audit.chain import record
from engine.store.database import Database
from engine.store.meta import BookMeta
from engine.store.people import User

DEMO_KIND = "simulated-demo"

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


def _demo_without_password(database: Database, username: str, now: datetime) -> DeskUser | None:
    """The passwordless active user of a simulated demo book, audited; None if that does not apply."""
    with database.transaction() as s:
        kind = s.get(BookMeta, "kind")
        user = s.scalars(select(User).where(User.username == username)).one_or_none()
        if kind is None or kind.value != DEMO_KIND or user is None or not user.active:
            return None
        if user.password_hash is not None:
            return None
        if user.locked_until is not None and user.locked_until > now:
            return None
        record(
            s,
            username,
            "login.demo",
            "user",
            user.id,
            reason="simulated demo user without a password",
            at=now,
        )
        return DeskUser(user.username, user.display_name, user.role, False)


def authenticate(database: Database, username: str, password: str | None) -> DeskUser:
    """The logged-in user; raises AuthenticationFailed (audited by engine.access) otherwise."""
    now = datetime.now(UTC)
    demo = _demo_without_password(database, username, now)
    if demo is not None:
        return demo
    user = login(database, username, password or "", now=now)
    return DeskUser(user.username, user.display_name, user.role, user.password_hash is not None)
