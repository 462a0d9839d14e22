"""TOTP secrets are sealed at rest with a key from the OS keychain: the column never holds the
secret, sign-in with a code still works, and without the key the second factor is refused (fail
closed) with a clear message, audited and not counted against the user."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from connectors.keys import SERVICE, TOTP_KEY
from engine.access import mfa
from engine.access.errors import SecondFactorUnavailable
from engine.access.sealed import PREFIX
from engine.access.signin import sign_in
from engine.access.totp import code_at
from engine.audit.verify import verify_chain
from engine.store.database import Database
from engine.store.people import User
from tests.connectors.memory_keyring import MemoryKeyringForTests
from tests.engine.access.test_mfa import PW, STEP, T0, actions, book, enrol, row  # noqa: F401

LATER = T0 + timedelta(minutes=5)


def test_the_stored_secret_is_sealed_and_sign_in_with_a_code_works(book: Database) -> None:  # noqa: F811
    secret, _ = enrol(book, "cora")
    stored = row(book, "cora").totp_secret
    assert stored is not None and stored.startswith(PREFIX)
    assert secret not in stored and secret.lower() not in stored.lower()
    with book.session() as s:  # the raw column, as a dump of the database would show it
        raw = s.execute(select(User.__table__.c.totp_secret).where(User.username == "cora")).scalar_one()
    assert secret not in raw
    who = sign_in(book, "cora", PW["cora"], now=LATER, code=code_at(secret, LATER))
    assert who.username == "cora" and "mfa.success" in actions(book, "cora")


def test_without_the_key_the_second_factor_is_refused_clearly(
    book: Database,  # noqa: F811
    _memory_keychain: MemoryKeyringForTests,
) -> None:
    secret, _ = enrol(book, "cora")
    del _memory_keychain.secrets[(SERVICE, TOTP_KEY)]  # another machine, or a lost key
    failures = row(book, "cora").failed_logins
    with pytest.raises(
        SecondFactorUnavailable, match=f"not in this machine's OS keychain.*keyring set {SERVICE}"
    ):
        sign_in(book, "cora", PW["cora"], now=LATER, code=code_at(secret, LATER))
    assert actions(book, "cora")[-1] == "mfa.unavailable"
    assert row(book, "cora").failed_logins == failures  # the user did nothing wrong
    # A different key (not the one that sealed it) is refused the same way.
    _memory_keychain.secrets[(SERVICE, TOTP_KEY)] = "x" * 43 + "="
    with pytest.raises(SecondFactorUnavailable):
        sign_in(book, "cora", PW["cora"], now=LATER + STEP, code=code_at(secret, LATER + STEP))


def test_a_book_opened_without_a_key_refuses_the_second_factor(book: Database) -> None:  # noqa: F811
    secret, _ = enrol(book, "cora")
    bare = Database(book.url)  # no SecretBox given by a composition root
    try:
        with pytest.raises(SecondFactorUnavailable, match="no key for sealed secrets"):
            sign_in(bare, "cora", PW["cora"], now=LATER, code=code_at(secret, LATER))
    finally:
        bare.dispose()


def test_a_secret_stored_in_clear_is_sealed_at_sign_in_and_by_the_admin(book: Database) -> None:  # noqa: F811
    secret, _ = enrol(book, "cora")
    tina_secret, _ = enrol(book, "tina")
    with book.transaction() as s:  # as an older version left them
        s.execute(update(User).where(User.username == "cora").values(totp_secret=secret))
        s.execute(update(User).where(User.username == "tina").values(totp_secret=tina_secret))
    sign_in(book, "cora", PW["cora"], now=LATER, code=code_at(secret, LATER))
    assert row(book, "cora").totp_secret.startswith(PREFIX)  # type: ignore[union-attr]
    assert "mfa.sealed" in actions(book, "cora")
    with book.transaction() as s:
        assert mfa.seal_clear_secrets(s, "root", "after the upgrade") == 1
    assert row(book, "tina").totp_secret.startswith(PREFIX)  # type: ignore[union-attr]
    sign_in(book, "tina", PW["tina"], now=LATER, code=code_at(tina_secret, LATER))
    with book.session() as s:
        assert verify_chain(s).ok


def test_opening_a_book_seals_secrets_an_older_version_left_in_clear(book: Database) -> None:  # noqa: F811
    from workstation.compose import open_store

    if book.dialect != "sqlite":
        pytest.skip("open_store migrates and seals the embedded SQLite book; `db upgrade` a server's")
    secret, _ = enrol(book, "cora")
    with book.transaction() as s:
        s.execute(update(User).where(User.username == "cora").values(totp_secret=secret))
    with open_store(str(book.url)) as opened:
        pass
    assert opened is not None
    stored = row(book, "cora").totp_secret
    assert stored is not None and stored.startswith(PREFIX) and secret not in stored
    with book.session() as s:
        assert verify_chain(s).ok
