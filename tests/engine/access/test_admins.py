"""No lock-out of the firm: the last active admin cannot be disabled or demoted (refused, audited,
nothing changed), and only a book with no users at all creates its first admin without one."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import delete, select, text, update

from engine.access import users
from engine.access.errors import LastAdmin
from engine.audit.verify import verify_chain
from engine.errors import WorkstationError
from engine.store.database import Database
from engine.store.people import AuditEntry, User

PW = "a long enough password"


def state(database: Database) -> dict[str, tuple[str, bool]]:
    with database.session() as s:
        return {u.username: (u.role, u.active) for u in s.scalars(select(User))}


def audit(database: Database) -> list[tuple[str, str, str | None]]:
    with database.session() as s:
        return [
            (e.username, e.action, e.entity_id) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def user_id(database: Database, username: str) -> str:
    with database.session() as s:
        return str(s.scalar(select(User.id).where(User.username == username)))


@pytest.fixture
def firm(database: Database) -> Database:
    """A book with one admin (boss) and a trader (tina)."""
    with database.transaction() as s:
        users.create_user(s, None, "boss", "Boss", "admin", PW)
        users.create_user(s, "boss", "tina", "Tina", "trader", PW)
    return database


def test_the_last_admin_cannot_be_disabled(firm: Database) -> None:
    before, log = state(firm), audit(firm)
    with (
        pytest.raises(LastAdmin, match="boss is the last active admin: disable refused"),
        firm.transaction() as s,
    ):
        users.set_active(s, "boss", "boss", False, "leaving")
    assert state(firm) == before
    assert audit(firm) == [*log, ("boss", "user.refused", user_id(firm, "boss"))]
    with firm.session() as s:
        assert verify_chain(s).ok


def test_with_a_second_admin_either_may_go_but_not_both(firm: Database) -> None:
    with firm.transaction() as s:
        users.create_user(s, "boss", "ada", "Ada", "admin", PW)
        users.set_active(s, "boss", "ada", False, "on leave")  # boss remains: allowed
        users.set_active(s, "boss", "ada", True, "back")
        users.set_role(s, "ada", "boss", "portfolio_manager", "moved to the desk")  # ada remains: allowed
    assert state(firm)["boss"] == ("portfolio_manager", True)
    before = state(firm)
    with pytest.raises(LastAdmin, match="ada is the last active admin"), firm.transaction() as s:
        users.set_active(s, "ada", "ada", False, "leaving too")
    assert state(firm) == before


def test_the_last_admin_who_can_sign_in_cannot_be_demoted(firm: Database) -> None:
    """An active admin without a password (who cannot sign in outside the demo book) does not count."""
    with firm.transaction() as s:
        s.add(User(username="ghost", display_name="Ghost", role="admin"))
    before, log = state(firm), audit(firm)
    with (
        pytest.raises(LastAdmin, match="boss is the last active admin: role trader refused"),
        firm.transaction() as s,
    ):
        users.set_role(s, "ghost", "boss", "trader", "why")
    assert state(firm) == before
    assert audit(firm) == [*log, ("ghost", "user.refused", user_id(firm, "boss"))]


def test_disabling_the_last_admin_does_not_open_the_book_to_anyone(firm: Database) -> None:
    """The old hole: with no active admin, `users add X --role admin` needed no sign-in."""
    with firm.transaction() as s:  # as if an old version had let it happen
        s.execute(update(User).where(User.username == "boss").values(active=False))
    before = state(firm)
    with pytest.raises(WorkstationError, match="book with no users"), firm.transaction() as s:
        users.create_user(s, None, "mallory", "M", "admin", PW)
    assert state(firm) == before


def test_only_a_book_with_no_users_creates_its_first_admin_freely(database: Database) -> None:
    with database.transaction() as s:
        s.add(User(username="pat", display_name="Pat", role="portfolio_manager"))
    with pytest.raises(WorkstationError, match="book with no users"), database.transaction() as s:
        users.create_user(s, None, "root", "Root", "admin", PW)
    with database.transaction() as s:
        s.execute(delete(User))
    with database.transaction() as s:
        with pytest.raises(WorkstationError, match="book with no users"):
            users.create_user(s, None, "trader1", "T", "trader", PW)  # the first user is an admin
        users.create_user(s, None, "root", "Root", "admin", PW)
    assert state(database) == {"root": ("admin", True)}


@pytest.mark.postgres
def test_two_admins_disabling_each_other_at_once_leave_one(database: Database) -> None:
    """The second waits on the admin rows the first locked, then sees it is the last: refused."""
    if database.dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time; PostgreSQL runs both transactions at once")
    with database.transaction() as s:
        users.create_user(s, None, "boss", "Boss", "admin", PW)
        users.create_user(s, "boss", "ada", "Ada", "admin", PW)
    outcome: dict[str, BaseException | None] = {}

    def ada_disables_boss() -> None:
        try:
            with database.transaction() as s2:
                users.set_active(s2, "ada", "boss", False, "race")
            outcome["ada"] = None
        except BaseException as exc:
            outcome["ada"] = exc

    first = database.sessions()
    first.begin()
    users.set_active(first, "boss", "ada", False, "race")  # holds the admin rows until commit
    worker = threading.Thread(target=ada_disables_boss)
    worker.start()
    deadline = time.monotonic() + 30
    while not _waiting_on_a_lock(database) and worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    first.commit()
    first.close()
    worker.join(30)
    assert isinstance(outcome.get("ada"), LastAdmin)
    assert state(database) == {"boss": ("admin", True), "ada": ("admin", False)}


def _waiting_on_a_lock(database: Database) -> bool:
    with database.engine.connect() as conn:
        n = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        ).scalar_one()
    return bool(n)
