"""A transaction whose first write is inside a savepoint is still one transaction.

Python's sqlite3 starts no transaction before a SAVEPOINT, so SQLite opened one for it and the
savepoint's RELEASE committed it: a later error then left those writes in the book (found when a
refused fill left the fills before it booked). The book now begins the transaction first.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from engine.store.database import Database


class _Refused(Exception):
    pass


def _rows(db: Database) -> int:
    with db.session() as s:
        return int(s.execute(text("SELECT count(*) FROM savepoint_probe")).scalar_one())


def test_a_write_inside_a_first_savepoint_is_rolled_back_with_its_transaction(database: Database) -> None:
    with database.session() as s, s.begin():
        s.execute(text("CREATE TABLE savepoint_probe (x INTEGER)"))
    with pytest.raises(_Refused), database.session() as s, s.begin():
        with s.begin_nested():
            s.execute(text("INSERT INTO savepoint_probe VALUES (1)"))
        s.execute(text("INSERT INTO savepoint_probe VALUES (2)"))
        raise _Refused
    assert _rows(database) == 0


def test_a_savepoint_rolled_back_alone_keeps_the_rest(database: Database) -> None:
    with database.session() as s, s.begin():
        s.execute(text("CREATE TABLE savepoint_probe (x INTEGER)"))
    with database.session() as s, s.begin():
        s.execute(text("INSERT INTO savepoint_probe VALUES (1)"))
        nested = s.begin_nested()
        s.execute(text("INSERT INTO savepoint_probe VALUES (2)"))
        nested.rollback()
        with s.begin_nested():
            s.execute(text("INSERT INTO savepoint_probe VALUES (3)"))
    with database.session() as s:
        assert [r[0] for r in s.execute(text("SELECT x FROM savepoint_probe ORDER BY x"))] == [1, 3]
