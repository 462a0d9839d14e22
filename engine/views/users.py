"""Who may log in to the desk (ui/login.py signs them in through engine.access.signin, as the CLI does: argon2id,
lock-out, audit; the simulated demo book's demo users without a password, audited `login.demo`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from engine.store.database import Database
from engine.store.people import User

ROLE_WORKSPACE = {
    "portfolio_manager": "pm",
    "compliance": "compliance",
    "trader": "trader",
    "admin": "pm",
    "operations": "operations",
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
