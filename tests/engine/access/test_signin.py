"""Signing in: the simulated demo book lets its demo users in without a password (audited
`login.demo`); any other book refuses the same user names without a password."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

import resources
from engine.access import users
from engine.access.errors import AuthenticationFailed, LastAdmin, SecondFactorMissing
from engine.access.login import hash_password
from engine.access.signin import DEMO_USERS, is_simulated_demo, needs_password, password_free_users, sign_in
from engine.demo.build import BookNotEmpty, build_demo_book
from engine.errors import PermissionDenied
from engine.store.database import Database
from engine.store.meta import BookMeta
from engine.store.people import AuditEntry, User
from tests.conftest import migrated

NAMES = [u for u, _, _ in DEMO_USERS]


def actions(database: Database, username: str) -> list[str]:
    with database.session() as s:
        return list(
            s.scalars(
                select(AuditEntry.action).where(AuditEntry.username == username).order_by(AuditEntry.id)
            )
        )


@pytest.fixture
def plain(tmp_path: Path) -> Iterator[Database]:
    """Not a demo book, with users of the demo's names and no passwords."""
    database = migrated(f"sqlite:///{tmp_path / 'plain.db'}")
    with database.transaction() as s:
        for name, display, role in DEMO_USERS:
            s.add(User(username=name, display_name=display, role=role))
    yield database
    database.dispose()


def test_the_demo_builder_writes_the_marker_and_its_users_sign_in_without_a_password(demo: Database) -> None:
    with demo.session() as s:
        assert is_simulated_demo(s)
    assert password_free_users(demo) == frozenset(NAMES)
    who = sign_in(demo, "pat.pm", None)
    assert (who.username, who.role, who.demo, who.has_password) == (
        "pat.pm",
        "portfolio_manager",
        True,
        False,
    )
    with demo.session() as s:
        e = s.scalars(
            select(AuditEntry).where(AuditEntry.username == "pat.pm").order_by(AuditEntry.id.desc())
        ).first()
        assert e is not None and e.action == "login.demo" and "simulated demo book" in (e.reason or "")


def test_a_demo_user_given_a_password_needs_it_even_in_the_demo_book(demo: Database) -> None:
    with demo.transaction() as s:
        users.set_password(s, "cole.compliance", "cole.compliance", "cole's own password")
    assert needs_password(demo, "cole.compliance") and not needs_password(demo, "cora.compliance")
    with pytest.raises(AuthenticationFailed):
        sign_in(demo, "cole.compliance", None)
    # With a password, cole is a real compliance user: a second factor is needed, enrolled first.
    with pytest.raises(SecondFactorMissing):
        sign_in(demo, "cole.compliance", "cole's own password")
    who = sign_in(demo, "cole.compliance", "cole's own password", enrolling=True)
    assert who.demo is False and who.enrol_only
    assert actions(demo, "cole.compliance")[-3:] == ["login.failure", "mfa.required", "login.success"]


@pytest.mark.parametrize("name", NAMES)
def test_any_other_book_refuses_the_same_names_without_a_password(plain: Database, name: str) -> None:
    assert password_free_users(plain) == frozenset() and needs_password(plain, name)
    for password in (None, ""):
        with pytest.raises(AuthenticationFailed, match="wrong user name or password"):
            sign_in(plain, name, password)
    assert actions(plain, name) == ["login.failure", "login.failure"]


def test_a_book_is_the_demo_only_by_its_marker(plain: Database) -> None:
    with plain.transaction() as s:
        s.add(BookMeta(key="kind", value="client-book"))
    with pytest.raises(AuthenticationFailed):
        sign_in(plain, "tara.trader", None)
    with plain.transaction() as s:
        s.get(BookMeta, "kind").value = "simulated-demo"  # type: ignore[union-attr]
    assert sign_in(plain, "tara.trader", None).demo
    # Only the demo's own users: another password-less user of a demo book is refused.
    with plain.transaction() as s:
        s.add(User(username="intruder", display_name="I", role="admin"))
    with pytest.raises(AuthenticationFailed):
        sign_in(plain, "intruder", None)
    assert actions(plain, "intruder") == ["login.failure"]


def test_a_book_with_users_becomes_the_demo_only_when_an_admin_replaces_it(plain: Database) -> None:
    """The marker lets password-less demo users in, so nobody can write it over a book with users."""
    with plain.transaction() as s:
        s.add(
            User(
                username="root",
                display_name="Root",
                role="admin",
                password_hash=hash_password("root's password"),
            )
        )
    ref = resources.path("reference")
    with pytest.raises(BookNotEmpty, match="holds users and is not a demo book"):
        build_demo_book(plain, ref, accounts=1, seed=5, today=date(2026, 11, 22))
    with pytest.raises(BookNotEmpty, match="needs an admin signed in"):
        build_demo_book(plain, ref, accounts=1, seed=5, today=date(2026, 11, 22), replace=True)
    with pytest.raises(PermissionDenied):
        build_demo_book(
            plain, ref, accounts=1, seed=5, today=date(2026, 11, 22), replace=True, actor="tara.trader"
        )
    with plain.session() as s:
        assert not is_simulated_demo(s)
    assert actions(plain, "tara.trader") == ["permission.denied"]
    build_demo_book(plain, ref, accounts=1, seed=5, today=date(2026, 11, 22), replace=True, actor="root")
    assert actions(plain, "root")[-1] == "book.replace"
    assert sign_in(plain, "pat.pm", None).demo


def test_the_demo_admin_counts_as_the_last_admin_in_the_demo_book(demo: Database) -> None:
    """ada.admin signs in without a password there, so she cannot be turned into a trader or disabled."""
    for call in (
        lambda s: users.create_user(s, "ada.admin", "ada.admin", "Ada", "trader", "ada's long password"),
        lambda s: users.set_active(s, "ada.admin", "ada.admin", False, "leaving"),
    ):
        with pytest.raises(LastAdmin), demo.transaction() as s:
            call(s)
    with demo.session() as s:
        ada = s.scalars(select(User).where(User.username == "ada.admin")).one()
        assert (ada.role, ada.active, ada.password_hash) == ("admin", True, None)
    assert actions(demo, "ada.admin")[-2:] == ["user.refused", "user.refused"]
