"""An encrypted SQLite book (SQLCipher): unreadable without its key, the key only in the OS
keychain, a wrong or missing key refused before any command runs, and `db encrypt` copying a
plain book row for row. The whole demo book is built and reported on through the encrypted driver."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends.fail import Keyring as FailKeyring

from connectors.book_key import BOOK_KEY_SERVICE
from engine.errors import ConfigurationError
from tests.connectors.memory_keyring import MemoryKeyringForTests
from workstation.cli.main import main
from workstation.compose import database_url


@pytest.fixture
def memory() -> Iterator[MemoryKeyringForTests]:
    backend, previous = MemoryKeyringForTests(), keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_demo_book_encrypted_at_rest_and_opened_only_with_its_key(
    memory: MemoryKeyringForTests, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "book" / "enc.db"
    url = f"sqlite+pysqlcipher:///{path}"
    code, _, err = run(capsys, "--db", url, "demo", "--accounts", "12", "--seed", "3", "--history-years", "0")
    assert code == 0, err
    key = memory.get_password(BOOK_KEY_SERVICE, str(path.resolve()))
    assert key is not None and len(key) == 64  # a 256-bit key, made for this book, kept in the keychain
    raw = path.read_bytes()
    assert not raw.startswith(b"SQLite format 3") and b"portfolio_manager" not in raw
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        sqlite3.connect(path).execute("SELECT count(*) FROM accounts").fetchone()
    assert path.stat().st_mode & 0o777 == 0o600

    code, out, err = run(capsys, "--db", url, "db", "info", "--json")
    info = json.loads(out)
    assert code == 0 and info["encrypted"] is True and info["tables"]["accounts"] == 12
    assert key not in out + err  # the key never reaches output
    code, out, err = run(capsys, "--db", url, "report", "holdings", "--all", "--json")
    assert code == 0 and len({r["account"] for r in json.loads(out)["rows"]}) == 12

    # A wrong key, a missing key and a key written in the URL are each refused before any command.
    memory.set_password(BOOK_KEY_SERVICE, str(path.resolve()), "0" * 64)
    code, _, err = run(capsys, "--db", url, "db", "info")
    assert code == 2 and "does not open it" in err
    memory.delete_password(BOOK_KEY_SERVICE, str(path.resolve()))
    code, _, err = run(capsys, "--db", url, "db", "info")
    assert code == 2 and "has no key in the OS keychain" in err
    with pytest.raises(ConfigurationError, match="contains the book's key"):
        database_url(f"sqlite+pysqlcipher://:{key}@/{path}")


def test_db_encrypt_copies_a_plain_book_row_for_row(
    memory: MemoryKeyringForTests, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = f"sqlite:///{tmp_path / 'plain.db'}"
    assert (
        run(capsys, "--db", plain, "demo", "--accounts", "8", "--seed", "4", "--history-years", "0")[0] == 0
    )
    out_path = tmp_path / "secure" / "book.db"
    code, out, err = run(capsys, "--db", plain, "db", "encrypt", "--out", str(out_path))
    assert code == 0, err
    assert f"--db sqlite+pysqlcipher:///{out_path}" in out
    before = json.loads(run(capsys, "--db", plain, "db", "info", "--json")[1])
    after = json.loads(run(capsys, "--db", f"sqlite+pysqlcipher:///{out_path}", "db", "info", "--json")[1])
    assert after["tables"] == before["tables"] and after["revision"] == before["revision"]
    assert before["encrypted"] is False and after["encrypted"] is True
    assert not out_path.read_bytes().startswith(b"SQLite format 3")
    # Never over an existing file.
    code, _, err = run(capsys, "--db", plain, "db", "encrypt", "--out", str(out_path))
    assert code == 2 and "never overwrites" in err


def test_no_secure_keychain_no_encrypted_book(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(FailKeyring())
    try:
        path = tmp_path / "enc.db"
        code, _, err = run(capsys, "--db", f"sqlite+pysqlcipher:///{path}", "db", "upgrade")
    finally:
        keyring.set_keyring(previous)
    assert code == 2 and "keychain" in err.lower()
    assert not path.exists()  # refused before the file was made
