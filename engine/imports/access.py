"""Who may import: every import into a book that has users needs a signed-in user with permission.

`models` files need `models.edit` (portfolio managers, admins: a trader cannot change a model);
every other kind (securities, accounts, lots, cash, prices, fx) needs `book.import` (admins).
A book with no users yet (a new book being loaded) has nobody to check: imports run as `import`.
Once the book has any user, the demo book's passwordless users included, an import without a
user is refused like one without the permission: PermissionDenied, audited, nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.audit.chain import record_separately
from engine.errors import PermissionDenied
from engine.store.people import User

NOBODY = "import"
"""Who the audit log and model versions name for an import into a book without users."""


@dataclass(frozen=True)
class Actor:
    """Who an import acts for; `checked` is False only in a book without users (nobody to check)."""

    username: str
    checked: bool


class SignInRequired(PermissionDenied):
    """An import without a user into a book that has users."""

    def __init__(self, permission: str) -> None:
        super().__init__(NOBODY, permission)
        self.args = (
            f"this book has users: an import needs a signed-in user (--user NAME) "
            f"with permission {permission!r}",
        )

    def __str__(self) -> str:
        return str(self.args[0])


def permission_for(kind: str) -> Permission:
    """The permission an import of `kind` needs."""
    return Permission.MODELS_EDIT if kind == "models" else Permission.BOOK_IMPORT


def has_users(session: Session) -> bool:
    """Whether the book has any user (active or not): from then on every import is checked."""
    return session.scalar(select(User.id).limit(1)) is not None


def authorize(session: Session, username: str | None, kind: str) -> Actor:
    """The actor of an import of `kind`; PermissionDenied (audited) if it may not run.

    Call it first in the import's transaction, before anything is written.
    """
    permission = permission_for(kind)
    if username is not None:
        return Actor(require(session, username, permission).username, checked=True)
    if not has_users(session):
        return Actor(NOBODY, checked=False)
    record_separately(
        session,
        NOBODY,
        "permission.denied",
        "permission",
        entity_id=permission.value,
        after={"permission": permission.value, "role": None, "kind": kind},
        reason="no signed-in user: this book has users",
    )
    raise SignInRequired(permission.value)
