"""One small simulated demo book shared by the rebalance tests (built once per session)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

import resources
from engine.demo.build import build_demo_book
from engine.rebalance.book import AccountInput, Universe
from engine.rebalance.run_inputs import load_run
from engine.store.database import Database
from tests.conftest import migrated

TODAY = date(2026, 11, 22)
N_ACCOUNTS = 60


@pytest.fixture(scope="session")
def book_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rebalance") / "book.db"
    database = migrated(f"sqlite:///{path}")
    build_demo_book(database, resources.path("reference"), accounts=N_ACCOUNTS, seed=11, today=TODAY)
    database.dispose()
    return path


@pytest.fixture(scope="session")
def book(book_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{book_path}")
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def loaded(book: Database) -> tuple[Universe, list[AccountInput]]:
    return load_run(book, None)
