"""Fixtures: the compliance mini book (users pm1, tr1, co1, ad1...; securities AAA..PRO; model M1)."""

from __future__ import annotations

import pytest

from engine.store.database import Database
from tests.engine.compliance.minibook import build_minibook


@pytest.fixture
def book_db(database: Database) -> Database:
    """The mini book on SQLite and on PostgreSQL, fresh for each test."""
    build_minibook(database)
    return database
