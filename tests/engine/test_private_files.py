"""The SQLite book (and its -wal and -shm) is created 0600, in a directory created 0700."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import text

from engine.store.database import Database
from engine.store.files import private_dir


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_a_new_sqlite_book_is_private(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)  # the user's own folder: left as it is
    path = tmp_path / "new" / "deeper" / "book.db"
    db = Database(f"sqlite:///{path}")
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
        files = [path, path.with_name("book.db-wal"), path.with_name("book.db-shm")]
        assert all(p.exists() for p in files)
        assert [oct(_mode(p)) for p in files] == ["0o600"] * 3
    db.dispose()
    assert _mode(tmp_path / "new") == 0o700 and _mode(path.parent) == 0o700
    assert _mode(tmp_path) == 0o755


def test_an_existing_readable_book_is_tightened_on_open(tmp_path: Path) -> None:
    path = tmp_path / "book.db"
    Database(f"sqlite:///{path}").dispose()
    os.chmod(path, 0o644)
    with Database(f"sqlite:///{path}") as db, db.engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    assert _mode(path) == 0o600


def test_private_dir_leaves_a_shared_sticky_directory_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    private_dir(shared)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o755)
    private_dir(mine)
    assert _mode(mine) == 0o700


def test_a_book_that_cannot_be_created_is_one_clear_error(tmp_path: Path) -> None:
    import pytest

    from engine.errors import ConfigurationError

    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigurationError, match=r"cannot open the book .*file/book.db"):
        Database(f"sqlite:///{tmp_path / 'file' / 'book.db'}")  # a file where the folder should be
