"""Ports that sign and verify audit checkpoints, and their Ed25519 implementation (cryptography).

The key itself comes from the OS keychain (connectors.keys), injected by the composition root;
the engine only sees these ports. A key is named by its `key_id`: the first 16 hex digits of
the SHA-256 of the raw public key, recorded with every checkpoint.
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat


class Signer(Protocol):
    """Signs a checkpoint's canonical bytes."""

    @property
    def key_id(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...


class Verifier(Protocol):
    """Checks a checkpoint's signature against the firm's public key."""

    @property
    def key_id(self) -> str: ...

    def verify(self, data: bytes, signature: bytes) -> bool: ...


def key_id_of(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:16]


def public_key_of(private: bytes) -> bytes:
    """The raw public key of a raw Ed25519 private key."""
    return (
        Ed25519PrivateKey.from_private_bytes(private)
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )


class Ed25519Signer:
    """Signer over a raw 32-byte Ed25519 private key."""

    def __init__(self, private: bytes) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(private)

    @classmethod
    def generate(cls) -> Ed25519Signer:
        raw = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return cls(raw)

    def private_bytes(self) -> bytes:
        return self._key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    def public_bytes(self) -> bytes:
        return self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_bytes())

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def verifier(self) -> Ed25519Verifier:
        return Ed25519Verifier(self.public_bytes())


class Ed25519Verifier:
    """Verifier over a raw 32-byte Ed25519 public key."""

    def __init__(self, public: bytes) -> None:
        self._raw = public
        self._key = Ed25519PublicKey.from_public_bytes(public)

    @property
    def key_id(self) -> str:
        return key_id_of(self._raw)

    def verify(self, data: bytes, signature: bytes) -> bool:
        try:
            self._key.verify(signature, data)
        except InvalidSignature:
            return False
        return True
