"""Test helpers for the second factor: enrol a user straight in the book, and the code of now."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from connectors.keys import KeychainSecretBox
from engine.access.totp import code_at, new_secret
from engine.store.database import Database
from engine.store.people import User
from workstation.cli import users as cli_users


def give_second_factor(database: Database, username: str, at: datetime | None = None) -> str:
    """A confirmed TOTP factor for `username` (as `users mfa enrol` + `confirm` leave it); its secret."""
    secret = new_secret()
    sealed = KeychainSecretBox().seal(secret)  # the test's in-memory keychain (tests/conftest.py)
    with database.transaction() as s:
        s.execute(
            update(User)
            .where(User.username == username)
            .values(
                totp_secret=sealed,
                totp_confirmed_at=at or datetime.now(UTC),
                totp_last_step=None,
                recovery_hashes=[],
            )
        )
    return secret


def code_now(database: Database, username: str, secret: str) -> str:
    """The code of the current step, as if the user waited for a new one since their last sign-in.

    The replay guard refuses a step already used; a test that signs the same user in several
    times within 30 s forgets the last step here instead of sleeping (never in engine code).
    """
    with database.transaction() as s:
        s.execute(update(User).where(User.username == username).values(totp_last_step=None))
        stored = s.scalar(select(User.totp_secret).where(User.username == username))
        assert stored is not None and KeychainSecretBox().open(stored) == secret
    return code_at(secret, datetime.now(UTC))


def codes_at_the_prompt(
    monkeypatch: pytest.MonkeyPatch, database: Database, *usernames: str
) -> dict[str, str]:
    """Give these users a second factor and answer the CLI's code prompt for them with a fresh
    code each time (so a test may sign the same user in many times); their secrets.

    $WORKSTATION_TOTP is cleared so that the CLI asks; other prompts go to the real getpass.
    """
    secrets = {u: give_second_factor(database, u) for u in usernames}
    monkeypatch.delenv("WORKSTATION_TOTP", raising=False)
    real = cli_users.getpass.getpass

    def ask(prompt: str = "Password: ", stream: object = None) -> str:
        m = re.match(r"code for (\S+) \(", prompt)
        if m and m.group(1) in secrets:
            return code_now(database, m.group(1), secrets[m.group(1)])
        return real(prompt)

    monkeypatch.setattr(cli_users.getpass, "getpass", ask)
    return secrets
