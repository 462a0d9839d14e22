"""PostgreSQL over TLS, verified: against a server of the test's own with a certificate from a
test CA, the desk connects with sslmode=verify-full through the environment's TLS settings; a
certificate from another CA, or clear text, is refused. A server off this machine gets
verify-full by default (fail closed); a loopback server keeps libpq's default."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from tests.connectors.memory_keyring import MemoryKeyringForTests
from tests.shared.tls_postgres import TlsServer, tls_postgres
from workstation.compose import database_url


@pytest.fixture(scope="module")
def server() -> Iterator[TlsServer]:
    yield from tls_postgres()


@pytest.fixture
def memory() -> Iterator[MemoryKeyringForTests]:
    backend, previous = MemoryKeyringForTests(), keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def _ssl_row(url: object) -> tuple[bool, str]:
    engine = create_engine(url)  # type: ignore[call-overload]
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            ).one()
            return bool(row[0]), str(row[1])
    finally:
        engine.dispose()


def test_verified_tls_to_a_server_with_a_ca_signed_certificate(
    server: TlsServer, memory: MemoryKeyringForTests, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = f"postgresql+psycopg://postgres@localhost:{server.port}/postgres"
    monkeypatch.setenv("WORKSTATION_DB_SSLMODE", "verify-full")
    monkeypatch.setenv("WORKSTATION_DB_SSLROOTCERT", str(server.ca_file))
    ssl, version = _ssl_row(database_url(base))
    assert ssl is True and version in ("TLSv1.2", "TLSv1.3")
    # The same server, verified against a CA that did not sign its certificate: refused.
    monkeypatch.setenv("WORKSTATION_DB_SSLROOTCERT", str(server.other_ca_file))
    with pytest.raises(OperationalError, match=r"(?i)certificate verify failed"):
        _ssl_row(database_url(base))
    # Clear text: the server lets no one in without TLS.
    monkeypatch.setenv("WORKSTATION_DB_SSLMODE", "disable")
    with pytest.raises(OperationalError, match=r"(?i)no encryption|reject"):
        _ssl_row(database_url(base))


def test_a_server_off_this_machine_defaults_to_verify_full(
    memory: MemoryKeyringForTests, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("WORKSTATION_DB_SSLMODE", "WORKSTATION_DB_SSLROOTCERT"):
        monkeypatch.delenv(name, raising=False)
    assert database_url("postgresql+psycopg://desk@db.example:5432/book").query["sslmode"] == "verify-full"
    assert database_url("postgresql+psycopg://desk@10.1.2.3/book").query["sslmode"] == "verify-full"
    # The URL or the environment says otherwise explicitly: that wins.
    assert (
        database_url("postgresql+psycopg://desk@db.example/book?sslmode=require").query["sslmode"]
        == "require"
    )
    monkeypatch.setenv("WORKSTATION_DB_SSLMODE", "verify-ca")
    assert database_url("postgresql+psycopg://desk@db.example/book").query["sslmode"] == "verify-ca"
    monkeypatch.delenv("WORKSTATION_DB_SSLMODE")
    for local in ("localhost", "127.0.0.1", "[::1]"):
        assert "sslmode" not in database_url(f"postgresql+psycopg://desk@{local}:5432/book").query
    assert "sslmode" not in database_url("postgresql+psycopg://desk@/book?host=/var/run/postgresql").query
