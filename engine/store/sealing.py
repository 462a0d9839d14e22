"""The port for secrets the book keeps sealed (a TOTP secret): sealed with a key the database never holds.

The composition root gives a Database a SecretBox backed by the OS keychain
(connectors.keys.KeychainSecretBox); every session the Database opens carries it in
`Session.info`, so the services that read a sealed column find it without a keychain import.
A Database without one refuses what needs it (fail closed): `secret_box(session)` raises.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from sqlalchemy.orm import Session

from engine.errors import ConfigurationError

SESSION_KEY = "secret_box"
"""The key of the SecretBox in `Session.info`."""


class SecretKeyUnavailable(ConfigurationError):
    """The key that seals secrets is not available (missing from the keychain, or no keychain)."""


@runtime_checkable
class SecretBox(Protocol):
    """Seals a short secret to text for a database column, and opens it again."""

    def seal(self, plain: str) -> str:
        """The sealed text (authenticated encryption); creates the key on first use if it may."""
        ...

    def open(self, sealed: str) -> str:
        """The secret; SecretKeyUnavailable without the key, ValueError if `sealed` was altered."""
        ...


def secret_box(session: Session) -> SecretBox:
    """The session's SecretBox, or SecretKeyUnavailable: nothing sealed is read or written without it."""
    box = session.info.get(SESSION_KEY)
    if box is None:
        raise SecretKeyUnavailable(
            "no key for sealed secrets was given to this book (the workstation takes it from the OS "
            "keychain): the second factor is refused"
        )
    return box
