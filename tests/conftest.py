"""Shared fixtures: isolated user dirs, and a migrated database on SQLite and on PostgreSQL.

PostgreSQL tests read WORKSTATION_TEST_PG_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)
and skip without it; .ci/run sets it. Each test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator

_TMP_HOME = tempfile.mkdtemp(prefix="ws-tests-")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["XDG_DATA_HOME"] = os.path.join(_TMP_HOME, "data")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_TMP_HOME, "config")
os.environ["XDG_CACHE_HOME"] = os.path.join(_TMP_HOME, "cache")
os.environ.pop("WORKSTATION_DB", None)

import pytest  # noqa: E402
from sqlalchemy import text  # noqa: E402

import resources  # noqa: E402
from engine.store.database import Database  # noqa: E402
from engine.store.migrate import upgrade  # noqa: E402
from engine.store.reference_seed import seed_reference  # noqa: E402

PG_ENV = "WORKSTATION_TEST_PG_URL"


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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """An empty database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'book.db'}"
    return request.getfixturevalue("pg_schema_url")


@pytest.fixture
def sqlite_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite:///{tmp_path / 'book.db'}"


def migrated(url: str) -> Database:
    database = Database(url)
    upgrade(database)
    with database.transaction() as session:
        seed_reference(session, resources.path("reference"))
    return database


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    """A migrated database with reference data (exchanges, settlement cycles), on both backends."""
    database = migrated(db_url)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_database(sqlite_url: str) -> Iterator[Database]:
    database = migrated(sqlite_url)
    yield database
    database.dispose()
