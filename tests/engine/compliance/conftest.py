"""Fixtures: the hand-made mini book, once per module on SQLite, and per test on both databases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.store.database import Database
from tests.conftest import migrated
from tests.engine.compliance.minibook import build_minibook


@pytest.fixture(scope="module")
def minibook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """The mini book on SQLite, shared by a module's read-only tests."""
    database = migrated(f"sqlite:///{tmp_path_factory.mktemp('mini') / 'book.db'}")
    build_minibook(database)
    yield database
    database.dispose()


@pytest.fixture
def book_db(database: Database) -> Database:
    """The mini book on SQLite and on PostgreSQL, fresh for each test (for tests that write)."""
    build_minibook(database)
    return database
