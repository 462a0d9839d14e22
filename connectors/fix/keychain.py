"""FIX logon passwords from the OS keychain (keyring). Never a plaintext file."""

from __future__ import annotations

import keyring
from keyring.errors import KeyringError


class KeyringCredentials:
    """CredentialStore on keyring; services are named `fix:<TargetCompID>`."""

    def get(self, service: str, username: str) -> str | None:
        try:
            return keyring.get_password(service, username)
        except KeyringError:
            return None

    def set(self, service: str, username: str, secret: str) -> None:
        keyring.set_password(service, username, secret)

    def delete(self, service: str, username: str) -> None:
        keyring.delete_password(service, username)
