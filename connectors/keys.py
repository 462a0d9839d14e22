"""The workstation's own keys in the OS keychain: the one that seals TOTP secrets, and the Ed25519
key that signs audit checkpoints.

They reach the engine as ports (engine.store.sealing.SecretBox, engine.audit.signing.Signer and
Verifier); the engine never imports keyring. A key is created in the keychain the first time it
is needed to seal or sign; it is never created to open or verify (that would hide a lost key):
then the caller is refused with the `keyring` command that restores it. Desks that share a
PostgreSQL book need the same keys: copy them with `keyring get` / `keyring set`.
"""

from __future__ import annotations

import base64

from connectors.credentials import KeyringCredentialStore, NoSecureKeychain
from engine.access.sealed import FernetBox
from engine.audit.signing import Ed25519Signer, Ed25519Verifier, public_key_of
from engine.store.sealing import SecretKeyUnavailable

SERVICE = "workstation-keys"
TOTP_KEY = "totp-secrets"
"""Keychain name of the Fernet key that seals TOTP secrets."""
AUDIT_PRIVATE = "audit-ed25519"
"""Keychain name of the Ed25519 private key (raw 32 bytes, base64) that signs audit checkpoints."""
AUDIT_PUBLIC = "audit-ed25519-public"
"""Keychain name of its public key (raw 32 bytes, base64): all a desk that only verifies needs."""


def _missing(name: str, what: str) -> SecretKeyUnavailable:
    return SecretKeyUnavailable(
        f"{what}: the key {name!r} is not in this machine's OS keychain (service {SERVICE!r}); "
        f"copy it from the desk that created it with `keyring set {SERVICE} {name}`"
    )


class KeychainSecretBox:
    """engine.store.sealing.SecretBox whose Fernet key is in the OS keychain (read when first used)."""

    def __init__(self, store: KeyringCredentialStore | None = None) -> None:
        self._store = store

    def _keychain(self) -> KeyringCredentialStore:
        return self._store or KeyringCredentialStore()

    def _key(self, create: bool) -> str:
        store = self._keychain()
        if not store.secure:
            raise SecretKeyUnavailable(
                f"second factor refused: {store.status()} (the key that seals second-factor secrets "
                "lives there)"
            )
        key = store.get(SERVICE, TOTP_KEY)
        if key:
            return key
        if not create:
            raise _missing(TOTP_KEY, "second factor refused")
        key = FernetBox.new_key()
        try:
            store.set(SERVICE, TOTP_KEY, key)
        except NoSecureKeychain as exc:
            raise SecretKeyUnavailable(str(exc)) from None
        return key

    def seal(self, plain: str) -> str:
        return FernetBox(self._key(create=True)).seal(plain)

    def open(self, sealed: str) -> str:
        return FernetBox(self._key(create=False)).open(sealed)


def _secure(store: KeyringCredentialStore, what: str) -> KeyringCredentialStore:
    if not store.secure:
        raise SecretKeyUnavailable(f"{what}: {store.status()}")
    return store


def keychain_signer(store: KeyringCredentialStore | None = None) -> Ed25519Signer:
    """The audit checkpoint signer; creates the key pair in the keychain the first time."""
    store = _secure(store or KeyringCredentialStore(), "cannot sign an audit checkpoint")
    private = store.get(SERVICE, AUDIT_PRIVATE)
    if not private:
        signer = Ed25519Signer.generate()
        store.set(SERVICE, AUDIT_PRIVATE, base64.b64encode(signer.private_bytes()).decode("ascii"))
        store.set(SERVICE, AUDIT_PUBLIC, base64.b64encode(signer.public_bytes()).decode("ascii"))
        return signer
    return Ed25519Signer(base64.b64decode(private))


def keychain_verifier(store: KeyringCredentialStore | None = None) -> Ed25519Verifier:
    """The audit checkpoint verifier: the public key from the keychain (or derived from the private one)."""
    store = _secure(store or KeyringCredentialStore(), "cannot verify audit checkpoints")
    public = store.get(SERVICE, AUDIT_PUBLIC)
    if public:
        return Ed25519Verifier(base64.b64decode(public))
    private = store.get(SERVICE, AUDIT_PRIVATE)
    if private:
        return Ed25519Verifier(public_key_of(base64.b64decode(private)))
    raise _missing(AUDIT_PUBLIC, "cannot verify audit checkpoints")
