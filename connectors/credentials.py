"""Secrets (database and FIX passwords) in the OS keychain through `keyring`.

`KeyringCredentialStore` implements engine.ports.CredentialStore, the one store for database
and FIX logon passwords. When no secure keychain backend is available (no Secret Service on a
headless Linux box, the `fail` or `null` backend, or a file-based backend such as keyrings.alt's
plaintext one) it says so clearly: `set` and `require` refuse with NoSecureKeychain, `get` finds
nothing, and `get_or_ask` asks every time without remembering. It never reads or writes an
insecure backend and never falls back to a file. Secrets never go to logs or the database.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

import keyring
from keyring.backend import KeyringBackend
from keyring.errors import KeyringError, PasswordDeleteError
from sqlalchemy.engine import URL, make_url

from engine.errors import ConfigurationError

log = logging.getLogger(__name__)

DB_SERVICE = "workstation-db"
INSECURE_HINTS = ("plaintext", "encryptedkeyring", "keyrings.alt", "null", "fail")


class NoSecureKeychain(ConfigurationError):
    """There is no secure OS keychain: secrets cannot be stored, only asked for each time."""


class MissingSecret(ConfigurationError):
    """A secret that must be in the keychain (a FIX logon password) is not there."""


def _name(backend: KeyringBackend) -> str:
    return f"{type(backend).__module__}.{type(backend).__name__}"


def is_secure(backend: KeyringBackend) -> bool:
    """A real keychain (macOS Keychain, Windows Credential Locker, Secret Service, KWallet...)."""
    name = _name(backend).lower()
    if any(h in name for h in INSECURE_HINTS):
        return False
    try:
        priority = float(backend.priority)  # type: ignore[arg-type]
    except Exception:
        return False
    if priority <= 0:
        return False
    subs = getattr(backend, "backends", None)  # the chainer: secure only if it chains a secure one
    if subs is not None:
        return any(is_secure(b) for b in subs)
    return True


def explain(backend: KeyringBackend) -> str:
    return (
        f"no secure keychain is available (keyring backend {_name(backend)}); passwords will be asked "
        "for each time and never stored. Install and unlock the OS keychain (Secret Service/KWallet on "
        "Linux, Keychain on macOS, Credential Locker on Windows) to remember them."
    )


class KeyringCredentialStore:
    """engine.ports.CredentialStore on the OS keychain; refuses insecure backends."""

    def __init__(self, backend: KeyringBackend | None = None) -> None:
        self.backend = backend or keyring.get_keyring()

    @property
    def secure(self) -> bool:
        return is_secure(self.backend)

    def status(self) -> str:
        return f"secure keychain: {_name(self.backend)}" if self.secure else explain(self.backend)

    def get(self, service: str, username: str) -> str | None:
        if not self.secure:
            return None
        try:
            return self.backend.get_password(service, username)
        except KeyringError as exc:
            log.warning("keychain read failed for %s/%s: %s", service, username, type(exc).__name__)
            return None

    def require(self, service: str, username: str) -> str:
        """The stored secret, for a process that cannot ask (a FIX logon): NoSecureKeychain without
        a secure keychain, MissingSecret (saying how to store it) when it is not there."""
        if not self.secure:
            raise NoSecureKeychain(explain(self.backend))
        found = self.get(service, username)
        if not found:
            raise MissingSecret(
                f"no password for {username!r} at {service!r} in the OS keychain: store it with "
                f"`keyring set {service} {username}`"
            )
        return found

    def set(self, service: str, username: str, secret: str) -> None:
        if not self.secure:
            raise NoSecureKeychain(explain(self.backend))
        self.backend.set_password(service, username, secret)

    def delete(self, service: str, username: str) -> None:
        if not self.secure:
            raise NoSecureKeychain(explain(self.backend))
        with contextlib.suppress(PasswordDeleteError):  # already absent is fine
            self.backend.delete_password(service, username)

    def get_or_ask(
        self, service: str, username: str, ask: Callable[[str], str], remember: bool = True
    ) -> str:
        """The stored secret, else ask (the prompt says whether it will be remembered)."""
        found = self.get(service, username)
        if found is not None:
            return found
        if not self.secure:
            return ask(f"{explain(self.backend)}\npassword for {username} at {service}: ")
        secret = ask(f"password for {username} at {service} (kept in the OS keychain): ")
        if remember and secret:
            self.set(service, username, secret)
        return secret


def database_service(url: str | URL) -> str:
    """The keychain service name of a database server (host and port, not the database)."""
    u = make_url(url)
    return f"{DB_SERVICE}:{u.get_backend_name()}://{u.host or 'localhost'}:{u.port or ''}"


def url_with_password(
    url: str | URL, store: KeyringCredentialStore, ask: Callable[[str], str] | None = None
) -> URL:
    """The URL with its password from the keychain (or asked), for connecting only: never log it.

    A URL that already carries a password is refused: passwords do not belong in configuration.
    """
    u = make_url(url)
    if u.password:
        raise ConfigurationError(
            "the database URL contains a password; remove it and store it with "
            "`keyring` (the workstation reads it from the OS keychain)"
        )
    if not u.username or u.get_backend_name() == "sqlite":
        return u
    service = database_service(u)
    secret = store.get_or_ask(service, u.username, ask) if ask else store.get(service, u.username)
    return u.set(password=secret) if secret else u
