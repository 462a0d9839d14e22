"""UI test fixtures: offscreen Qt, QSettings redirected to a temp dir, one demo book per session."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QSettings

import resources
from connectors.keys import KeychainSecretBox
from engine.demo.build import build_demo_book
from engine.store.database import Database
from engine.store.migrate import upgrade
from engine.store.reference_seed import seed_reference

SETTINGS_DIR = Path(tempfile.mkdtemp(prefix="ws-qsettings-"))
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(SETTINGS_DIR))
QSettings.setDefaultFormat(QSettings.Format.IniFormat)
DEMO_TODAY = date(2026, 11, 22)


def build_book(path: Path, accounts: int = 12) -> Database:
    # The keychain's key for sealed TOTP secrets, as the desktop's composition root gives it (each
    # test's in-memory keychain, tests/conftest.py).
    database = Database(f"sqlite:///{path}", secret_box=KeychainSecretBox())
    upgrade(database)
    with database.transaction() as session:
        seed_reference(session, resources.path("reference"))
    build_demo_book(database, resources.path("reference"), accounts=accounts, seed=7, today=DEMO_TODAY)
    return database


def copy_book(database: Database, target: Path) -> Database:
    """A private copy of a SQLite book, for a module that changes it."""
    with database.engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    source = database.engine.url.database
    assert source is not None
    shutil.copyfile(source, target)
    return Database(f"sqlite:///{target}", secret_box=KeychainSecretBox())


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A 12-account demo book shared by read-only UI tests (built once: about 7 s)."""
    database = build_book(tmp_path_factory.mktemp("ui-book") / "book.db")
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def qtbot_module(qapp, request):  # type: ignore[no-untyped-def]
    """A qtbot that lives as long as a module's shared window."""
    from pytestqt.qtbot import QtBot

    return QtBot(request)


@pytest.fixture(scope="session")
def settings_dir() -> Path:
    return SETTINGS_DIR
