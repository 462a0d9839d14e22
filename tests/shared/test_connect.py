"""Connecting a desk to the shared server: password from the keychain, TLS options passed
through to the driver (the URL's own options win), never a password in the URL."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from connectors.credentials import database_service
from engine.errors import ConfigurationError
from tests.conftest import pg_url
from tests.connectors.memory_keyring import MemoryKeyringForTests
from workstation.compose import database_url


@pytest.fixture
def memory() -> Iterator[MemoryKeyringForTests]:
    backend, previous = MemoryKeyringForTests(), keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_password_comes_from_the_keychain_and_tls_options_from_the_environment(
    memory: MemoryKeyringForTests, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "postgresql+psycopg://desk@db.example:5433/book?sslrootcert=/etc/url-ca.pem"
    memory.set_password(database_service(url), "desk", "s3cret")
    monkeypatch.setenv("WORKSTATION_DB_SSLMODE", "verify-full")
    monkeypatch.setenv("WORKSTATION_DB_SSLROOTCERT", "/etc/env-ca.pem")
    got = database_url(url)
    assert got.password == "s3cret"
    assert dict(got.query) == {"sslmode": "verify-full", "sslrootcert": "/etc/url-ca.pem"}
    assert "s3cret" not in got.render_as_string(hide_password=True)
    with pytest.raises(ConfigurationError, match="contains a password"):
        database_url("postgresql+psycopg://desk:inline@db.example/book")
    assert database_url("sqlite:////tmp/x.db").query == {}


@pytest.mark.postgres
def test_tls_settings_reach_the_driver(
    memory: MemoryKeyringForTests, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = pg_url()
    if not base:
        pytest.skip("WORKSTATION_TEST_PG_URL not set")
    monkeypatch.setenv("WORKSTATION_DB_SSLMODE", "disable")
    with create_engine(database_url(base)).connect() as conn:
        assert (
            conn.execute(text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).scalar_one()
            is False
        )
    monkeypatch.setenv("WORKSTATION_DB_SSLMODE", "require")  # this test server has no TLS: libpq says so
    with pytest.raises(OperationalError, match=r"(?i)ssl"):
        create_engine(database_url(base)).connect()
