"""A small simulated demo book shared by the sign-in tests (built once per session)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

import resources
from engine.demo.build import build_demo_book
from engine.store.database import Database
from tests.conftest import migrated


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """The simulated demo book (one account): its demo users have no password."""
    database = migrated(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'book.db'}")
    build_demo_book(database, resources.path("reference"), accounts=1, seed=5, today=date(2026, 11, 22))
    yield database
    database.dispose()
