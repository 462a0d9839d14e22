"""The key of an encrypted SQLite book (SQLCipher), kept in the OS keychain and nowhere else.

The keychain entry is service `workstation-book-key`, user the book file's absolute path. A new
encrypted book gets a random 256-bit key, stored before the file is created; an existing one
without its key is refused (fail closed), as is a URL that carries a key in clear.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from connectors.credentials import KeyringCredentialStore, MissingSecret
from engine.errors import ConfigurationError

BOOK_KEY_SERVICE = "workstation-book-key"


def book_path(url: str | URL) -> Path:
    """The absolute path of a file-backed SQLite book (the keychain entry's user name)."""
    u = make_url(url)
    if not u.database or u.database == ":memory:" or u.database.startswith("file:"):
        raise ConfigurationError(f"an encrypted book needs a file path, not {u.database or 'memory'}")
    return Path(u.database).expanduser().resolve()


def new_key() -> str:
    """A fresh 256-bit key, hex."""
    return secrets.token_hex(32)


def store_key(url: str | URL, store: KeyringCredentialStore, key: str) -> None:
    """Keep `key` for the book at `url` (refused without a secure keychain)."""
    store.set(BOOK_KEY_SERVICE, str(book_path(url)), key)


def url_with_book_key(url: str | URL, store: KeyringCredentialStore) -> URL:
    """The encrypted book's URL with its key from the keychain, for connecting only: never log it.

    A book file that does not exist yet gets a new key (the keychain must be secure); an existing
    one whose key the keychain lacks is refused with the entry it looked for.
    """
    u = make_url(url)
    if u.password:
        raise ConfigurationError(
            "the database URL contains the book's key; remove it: an encrypted book's key lives "
            "only in the OS keychain"
        )
    path = book_path(u)
    key = store.get(BOOK_KEY_SERVICE, str(path))
    if key is None:
        if path.exists() and path.stat().st_size > 0:
            raise MissingSecret(
                f"the encrypted book {path} has no key in the OS keychain "
                f"(service {BOOK_KEY_SERVICE}, user {path}); it cannot be opened without it"
            )
        key = new_key()
        store.set(BOOK_KEY_SERVICE, str(path), key)  # NoSecureKeychain without a secure keychain
    return u.set(password=key)
