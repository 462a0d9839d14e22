"""Shared fixtures: isolated user dirs, and a migrated database on SQLite and on PostgreSQL.

PostgreSQL tests read WORKSTATION_TEST_PG_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)
and skip without it; .ci/run sets it. Each test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

_TMP_HOME = tempfile.mkdtemp(prefix="ws-tests-")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["XDG_DATA_HOME"] = os.path.join(_TMP_HOME, "data")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_TMP_HOME, "config")
os.environ["XDG_CACHE_HOME"] = os.path.join(_TMP_HOME, "cache")
os.environ.pop("WORKSTATION_DB", None)

import keyring  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402
from sqlalchemy import Engine, create_engine, make_url, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

import resources  # noqa: E402
from engine.store.database import Database  # noqa: E402
from engine.store.migrate import upgrade  # noqa: E402

# No timing asserts on a shared machine: Hypothesis's per-example deadline (200 ms) failed an
# allocation property test at load 10. The examples and their shrinking stay as they are.
settings.register_profile("workstation", deadline=None)
settings.load_profile("workstation")
from engine.store.reference_seed import seed_reference  # noqa: E402
from engine.store.sealing import SecretBox  # noqa: E402
from tests.connectors.memory_keyring import MemoryKeyringForTests  # noqa: E402

PG_ENV = "WORKSTATION_TEST_PG_URL"


@pytest.fixture(autouse=True)
def _memory_keychain() -> Iterator[MemoryKeyringForTests]:
    """Every test gets an empty in-memory keychain (never the real one): the keys that seal TOTP
    secrets and sign audit checkpoints are created there when first needed. Tests that need
    another backend install it themselves; the previous one is restored afterwards."""
    backend, previous = MemoryKeyringForTests(), keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


def _keychain_box() -> SecretBox:
    from connectors.keys import KeychainSecretBox

    return KeychainSecretBox()


def pg_url() -> str | None:
    return os.environ.get(PG_ENV) or None


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the test."""
    base = pg_url()
    if not base:
        pytest.skip(f"{PG_ENV} not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = Database(base)
    with admin.engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def migrated(url: str) -> Database:
    """Migrate `url` to every head and seed the reference data (exchanges, settlement cycles)."""
    database = Database(url)
    upgrade(database)
    with database.transaction() as session:
        seed_reference(session, resources.path("reference"))
    return database


class _Templates:
    """Migrated template databases, built once per test session and cloned for each test.

    Running the whole Alembic chain for every test is slow; a file copy (SQLite) or
    CREATE DATABASE ... TEMPLATE (PostgreSQL) gives each test the same migrated, seeded state.
    tests/engine/test_migrations.py still runs the migrations themselves on empty databases.
    """

    def __init__(self) -> None:
        self.sqlite: Path | None = None
        self.pg_name: str | None = None

    def sqlite_copy(self, target: Path) -> str:
        if self.sqlite is None:
            path = Path(_TMP_HOME) / "template.db"
            database = migrated(f"sqlite:///{path}")
            with database.engine.begin() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            database.dispose()
            self.sqlite = path
        shutil.copyfile(self.sqlite, target)
        return f"sqlite:///{target}"

    def pg_clone(self, base: str) -> str:
        admin = _pg_admin(base)
        if self.pg_name is None:
            name = f"ws_tmpl_{uuid.uuid4().hex[:10]}"
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            database = migrated(_pg_url_for(base, name))
            database.dispose()
            self.pg_name = name
        clone = f"ws_t_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{clone}" TEMPLATE "{self.pg_name}"')
        return clone

    def drop_all(self) -> None:
        base = pg_url()
        if self.pg_name and base:
            with _pg_admin(base).connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


def _pg_url_for(base: str, dbname: str) -> str:
    return make_url(base).set(database=dbname).render_as_string(hide_password=False)


_ADMIN: dict[str, Engine] = {}


def _pg_admin(base: str) -> Engine:
    """An autocommit engine on the base database, for CREATE/DROP DATABASE."""
    if base not in _ADMIN:
        _ADMIN[base] = create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    return _ADMIN[base]


_TEMPLATES = _Templates()


@pytest.fixture(scope="session", autouse=True)
def _drop_templates() -> Iterator[None]:
    yield
    _TEMPLATES.drop_all()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """An EMPTY database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'book.db'}"
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture
def sqlite_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite:///{tmp_path / 'book.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    """A migrated database with reference data (exchanges, settlement cycles), on both backends."""
    if request.param == "sqlite":
        db = Database(_TEMPLATES.sqlite_copy(tmp_path / "book.db"), secret_box=_keychain_box())
        yield db
        db.dispose()
        return
    base = pg_url()
    if not base:
        pytest.skip(f"{PG_ENV} not set")
    name = _TEMPLATES.pg_clone(base)
    db = Database(_pg_url_for(base, name), secret_box=_keychain_box())
    try:
        yield db
    finally:
        db.dispose()
        with _pg_admin(base).connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_database(tmp_path) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    """A migrated SQLite database with reference data."""
    db = Database(_TEMPLATES.sqlite_copy(tmp_path / "book.db"), secret_box=_keychain_box())
    yield db
    db.dispose()
