"""Credentials live in the OS keychain; without a secure backend nothing is stored anywhere."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail, null

from connectors.credentials import (
    KeyringCredentialStore,
    MissingSecret,
    NoSecureKeychain,
    database_service,
    url_with_password,
)
from engine.errors import ConfigurationError
from tests.connectors.memory_keyring import MemoryKeyringForTests


class PlaintextKeyring(MemoryKeyringForTests):
    """Stands in for keyrings.alt.file.PlaintextKeyring: a file backend must be refused."""


PlaintextKeyring.__module__ = "keyrings.alt.file"


@pytest.fixture
def memory() -> Iterator[MemoryKeyringForTests]:
    previous = keyring.get_keyring()
    backend = MemoryKeyringForTests()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_roundtrip_through_the_installed_keyring(memory: MemoryKeyringForTests) -> None:
    store = KeyringCredentialStore()
    assert store.backend is memory and store.secure
    assert store.get("fix:BROKER1", "desk") is None
    store.set("fix:BROKER1", "desk", "s3cret")
    assert memory.secrets == {("fix:BROKER1", "desk"): "s3cret"}
    assert store.get("fix:BROKER1", "desk") == "s3cret"
    store.delete("fix:BROKER1", "desk")
    store.delete("fix:BROKER1", "desk")  # absent: no error
    assert store.get("fix:BROKER1", "desk") is None


def test_get_or_ask_remembers_in_a_secure_keychain(memory: MemoryKeyringForTests) -> None:
    store = KeyringCredentialStore()
    prompts: list[str] = []
    ask = lambda p: prompts.append(p) or "pw1"  # noqa: E731
    assert store.get_or_ask("svc", "me", ask) == "pw1"
    assert store.get_or_ask("svc", "me", ask) == "pw1"
    assert len(prompts) == 1 and "OS keychain" in prompts[0]


@pytest.mark.parametrize(
    "backend", [fail.Keyring(), null.Keyring(), PlaintextKeyring()], ids=["fail", "null", "plaintext"]
)
def test_no_secure_backend_says_so_and_asks_each_time(
    backend: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = KeyringCredentialStore(backend)  # type: ignore[arg-type]
    assert not store.secure
    assert "no secure keychain" in store.status()
    with pytest.raises(NoSecureKeychain, match="asked for each time"):
        store.set("svc", "me", "pw")
    prompts: list[str] = []
    ask = lambda p: prompts.append(p) or "typed"  # noqa: E731
    assert store.get_or_ask("svc", "me", ask) == "typed"
    assert store.get_or_ask("svc", "me", ask) == "typed"
    assert len(prompts) == 2 and all("no secure keychain" in p for p in prompts)
    assert store.get("svc", "me") is None
    if isinstance(backend, PlaintextKeyring):
        assert backend.secrets == {}  # nothing reached the file backend
    assert os.listdir(tmp_path) == []


def test_database_password_comes_from_the_keychain_never_the_url(memory: MemoryKeyringForTests) -> None:
    store = KeyringCredentialStore()
    url = "postgresql+psycopg://desk@db.example:5432/book"
    store.set(database_service(url), "desk", "pg-pass")
    full = url_with_password(url, store)
    assert full.password == "pg-pass"
    assert "pg-pass" not in full.render_as_string(hide_password=True)
    with pytest.raises(ConfigurationError, match="contains a password"):
        url_with_password("postgresql+psycopg://desk:inline@db.example/book", store)
    assert url_with_password("sqlite:////tmp/x.db", store).password is None


def test_require_gives_the_secret_or_one_clear_error(memory: MemoryKeyringForTests) -> None:
    store = KeyringCredentialStore()
    store.set("fix:SIM", "desk1", "pw")
    assert store.require("fix:SIM", "desk1") == "pw"
    with pytest.raises(
        MissingSecret, match=r"no password for 'desk2' at 'fix:SIM'.*keyring set fix:SIM desk2"
    ):
        store.require("fix:SIM", "desk2")


@pytest.mark.parametrize(
    "backend", [fail.Keyring(), null.Keyring(), PlaintextKeyring()], ids=["fail", "null", "plaintext"]
)
def test_require_refuses_an_insecure_backend_without_reading_it(backend: object) -> None:
    if isinstance(backend, PlaintextKeyring):
        backend.secrets[("fix:SIM", "desk1")] = "in a file"
    with pytest.raises(NoSecureKeychain, match="no secure keychain is available"):
        KeyringCredentialStore(backend).require("fix:SIM", "desk1")  # type: ignore[arg-type]
