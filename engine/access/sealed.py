"""TOTP secrets sealed at rest: Fernet (AES-128-CBC with HMAC-SHA256, cryptography's recipe).

The users table holds `fernet1:<token>`, never the base32 secret; the key lives in the OS
keychain (connectors.keys) and reaches the engine as an engine.store.sealing.SecretBox. A secret
stored before sealing existed (plain base32, no prefix) is still read where a box is given,
and sealed at once (`mfa.seal_clear_secrets`, or at the user's next sign-in).
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from engine.store.sealing import SecretKeyUnavailable

PREFIX = "fernet1:"


def is_sealed(value: str) -> bool:
    """Whether a stored value is sealed (base32 secrets never contain a colon)."""
    return value.startswith(PREFIX)


class FernetBox:
    """engine.store.sealing.SecretBox over one Fernet key (urlsafe base64, 32 bytes)."""

    def __init__(self, key: bytes | str | None) -> None:
        self._fernet = None if key is None else Fernet(key)

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode("ascii")

    def seal(self, plain: str) -> str:
        if self._fernet is None:
            raise SecretKeyUnavailable("no key to seal the secret with")
        return PREFIX + self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        if not is_sealed(sealed):
            raise ValueError("not a sealed value")
        if self._fernet is None:
            raise SecretKeyUnavailable("no key to open the secret with")
        try:
            return self._fernet.decrypt(sealed[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ValueError(
                "the sealed secret does not open with this key (another key, or the value was altered)"
            ) from None
