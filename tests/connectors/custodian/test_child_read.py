"""A semt.002 file read in a child process fails the load cleanly: a refusal is the same as when
read here (row, field, reason), a child that dies or raises is named, and nothing is stored."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connectors.custodian import childread
from connectors.custodian.load import load_files
from connectors.custodian.profile import Profile
from connectors.custodian.read import StatementFile, read_statement
from engine.errors import ImportValidationError
from engine.reconcile.tables import Statement, StatementPosition
from engine.store.database import Database
from tests.engine.reconcile.minibook import CUST, OPS, build
from tests.engine.reconcile.test_stored_rows_digest import iso_profile, semt002


def _files(tmp_path: Path, bad_at: int | None = None) -> list[Path]:
    big, small = tmp_path / "big.xml", tmp_path / "small.xml"
    big.write_bytes(semt002(3_000, bad_at))
    small.write_bytes(semt002(5))
    return [big, small]


def _refused(database: Database, paths: list[Path]) -> list[str]:
    """The load's problems, after checking that it stored nothing."""
    with pytest.raises(ImportValidationError) as e:
        load_files(database, paths, CUST, profile=iso_profile(), loaded_by=OPS)
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Statement)) == 0
        assert s.scalar(select(func.count()).select_from(StatementPosition)) == 0
    return e.value.lines()


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child path even where an earlier test left a thread behind (a pytest-xdist worker runs
    many modules): these children only read a test file."""
    monkeypatch.setattr(childread, "_can_fork", lambda: True)


def _in_child(monkeypatch: pytest.MonkeyPatch, what: str) -> None:
    """Make the child (it reads big.xml) exit with code 3 or raise; this process reads normally
    (and never exits: read here, big.xml fails the test instead)."""
    parent = os.getpid()

    def reading(path: Path, profile: Profile) -> StatementFile:
        if path.name == "big.xml":
            assert os.getpid() != parent, "big.xml was read in this process, not in a child"
            if what == "dies":
                os._exit(3)
            raise RuntimeError("disk on fire")
        return read_statement(path, profile)

    monkeypatch.setattr(childread, "read_statement", reading)


def test_a_refusal_in_the_child_names_row_field_and_reason(
    sqlite_database: Database, tmp_path: Path, forks: None
) -> None:
    build(sqlite_database)
    paths = _files(tmp_path, bad_at=2_500)
    with pytest.raises(ImportValidationError) as here:
        read_statement(paths[0], iso_profile())
    lines = _refused(sqlite_database, paths)
    assert lines == here.value.lines() and len(lines) == 1
    assert lines[0].startswith("big.xml: row ") and "ISIN" in lines[0]


@pytest.mark.parametrize(
    ("what", "reason"),
    [
        ("dies", "the reader process ended without a result (exit code 3)"),
        ("raises", "the reader process failed: RuntimeError: disk on fire"),
    ],
)
def test_a_child_that_dies_or_raises_fails_the_load(
    sqlite_database: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    what: str,
    reason: str,
    forks: None,
) -> None:
    build(sqlite_database)
    _in_child(monkeypatch, what)
    assert _refused(sqlite_database, _files(tmp_path)) == [f"big.xml: row 1, column (file): {reason}"]


def test_the_first_refusal_in_file_order_is_reported(
    sqlite_database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forks: None
) -> None:
    """A later file refused here waits for the child's earlier one; an earlier one stops the child."""
    build(sqlite_database)
    started: list[childread.ChildRead] = []

    class Spy(childread.ChildRead):
        def __init__(self, path: Path, profile: Profile) -> None:
            super().__init__(path, profile)
            started.append(self)

    monkeypatch.setattr(childread, "ChildRead", Spy)
    big, _ = _files(tmp_path, bad_at=10)
    bad_small = tmp_path / "bad_small.xml"
    bad_small.write_bytes(semt002(5, bad_at=2))
    first = _refused(sqlite_database, [big, bad_small])
    assert len(first) == 1 and first[0].startswith("big.xml: row ")
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("custodian,account\nX,Y\n", encoding="utf-8")
    second = _refused(sqlite_database, [bad_csv, big])  # the child reads big.xml, stopped unread
    assert second and all(line.startswith("bad.csv: ") for line in second)
    assert len(started) == 2 and all(c._proc.exitcode is not None for c in started)  # none left running


def test_no_child_is_forked_beside_another_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With another thread running, the files are read here, one by one, to the same statements."""
    started: list[Path] = []
    monkeypatch.setattr(childread, "ChildRead", lambda path, profile: started.append(path))
    paths, prof = _files(tmp_path), iso_profile()
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        got = childread.read_statements([(p, prof) for p in paths])
    finally:
        stop.set()
        other.join()
    assert started == [] and [f.statement.lines for f in got] == [3_000, 5]
    assert got[0].statement.positions == read_statement(paths[0], prof).statement.positions
