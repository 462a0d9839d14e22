"""Signing a person in, the same way for the CLI and the desktop.

A password is checked by engine.access.login (argon2id, lock-out, audit), then the second factor
of a user who has one (a TOTP code or a recovery code, engine.access.mfa); a user whose role needs
one and who has none yet signs in only to enrol (`enrolling`). The one exception is
the SIMULATED demo book: its demo users (DEMO_USERS, created without a password by
`workstation demo`) sign in without one, audited as `login.demo`. A book is the simulated demo
only while its `book_meta` row `kind` says so, and only engine.demo.build writes that row. Any
other book refuses a password-less sign-in, whatever the user is called. Demo users have no
second factor either: the demo book is labelled as such wherever they sign in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.login import authenticate
from engine.audit.chain import record
from engine.store.database import Database
from engine.store.meta import BookMeta
from engine.store.people import User

DEMO_KIND = "simulated-demo"
"""The `book_meta` value of `kind` that marks the simulated demo book (written by engine.demo.build)."""
DEMO_LABEL = "simulated demo book"

DEMO_USERS: tuple[tuple[str, str, str], ...] = (
    ("pat.pm", "Pat Morgan (demo PM)", "portfolio_manager"),
    ("tara.trader", "Tara Ito (demo trader)", "trader"),
    ("cora.compliance", "Cora Lindqvist (demo compliance)", "compliance"),
    ("cole.compliance", "Cole Osei (demo compliance)", "compliance"),
    ("ada.admin", "Ada Novak (demo admin)", "admin"),
    ("otto.ops", "Otto Brandt (demo operations)", "operations"),
    ("olga.ops", "Olga Rinaldi (demo operations)", "operations"),
)
"""(user name, display name, role) of the demo book's users, who have no password."""
DEMO_USERNAMES = frozenset(u for u, _, _ in DEMO_USERS)


@dataclass(frozen=True)
class SignedIn:
    """Who signed in; `demo` when it was the demo book's password-less sign-in."""

    username: str
    display_name: str
    role: str
    has_password: bool
    demo: bool
    enrol_only: bool = False
    """Signed in only to enrol the second factor the role needs (nothing else is allowed)."""


def is_simulated_demo(session: Session) -> bool:
    """Whether the book is the simulated demo (its durable `book_meta` marker)."""
    row = session.get(BookMeta, "kind")
    return row is not None and row.value == DEMO_KIND


def _password_free(session: Session, user: User | None, now: datetime) -> bool:
    return (
        user is not None
        and user.username in DEMO_USERNAMES
        and user.active
        and user.password_hash is None
        and not (user.locked_until is not None and user.locked_until > now)
        and is_simulated_demo(session)
    )


def password_free_users(database: Database, now: datetime | None = None) -> frozenset[str]:
    """The users who may sign in without a password (only demo users, only in the demo book)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    with database.session() as s:
        users = s.scalars(select(User).where(User.username.in_(DEMO_USERNAMES))).all()
        return frozenset(u.username for u in users if _password_free(s, u, now))


def needs_password(database: Database, username: str) -> bool:
    """False only for a demo user of the simulated demo book (ask for nothing then)."""
    return username not in password_free_users(database)


def sign_in(
    database: Database,
    username: str,
    password: str | None,
    now: datetime | None = None,
    code: str | None = None,
    enrolling: bool = False,
) -> SignedIn:
    """The signed-in user, or AuthenticationFailed (audited; failures count toward lock-out).

    A demo user of the simulated demo book needs no password (audited `login.demo`); everyone
    else, in every other book, is checked by engine.access.login: the password, then `code` (TOTP
    or recovery) for a user with a second factor. A user whose role needs one and who has none
    gets SecondFactorMissing, unless `enrolling` (then `enrol_only` is set on the result).
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    with database.transaction() as s:
        user = s.scalars(select(User).where(User.username == username)).one_or_none()
        if user is not None and _password_free(s, user, now):
            record(
                s,
                username,
                "login.demo",
                "user",
                user.id,
                reason=f"{DEMO_LABEL}: demo user without a password",
                at=now,
            )
            return SignedIn(user.username, user.display_name, user.role, False, demo=True)
    done = authenticate(database, username, password or "", now=now, code=code, enrolling=enrolling)
    u = done.user
    return SignedIn(u.username, u.display_name, u.role, u.password_hash is not None, False, done.enrol_only)
