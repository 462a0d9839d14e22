"""Every read a pre-trade check makes, as (SQL, parameters), and a digest of what they return now.

The ticket's preview check records its reads (engine.compliance.preview); at Send the same reads
are run again and their rows hashed: the same digest means the check would read exactly the rows
it read before. Reads through SQLAlchemy are recorded by a cursor event; the one raw DBAPI read
(engine.compliance.book.fetch_tuples) notes itself here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

Read = tuple[str, Any]

_log: ContextVar[list[Read] | None] = ContextVar("compliance_reads", default=None)


def note(sql: str, params: Any) -> None:
    """A raw read outside SQLAlchemy's events (fetch_tuples): recorded when a log is open."""
    log = _log.get()
    if log is not None:
        log.append((sql, params))


class Writes(Exception):
    """A recorded statement was not a read: the check cannot be replayed (never reused)."""


@contextmanager
def recording(session: Session) -> Iterator[list[Read]]:
    """Record every statement run on the session's connection inside the block."""
    conn = session.connection()
    log: list[Read] = []

    def before(_c: Connection, _cur: Any, sql: str, params: Any, _ctx: Any, many: bool) -> None:
        log.append(("-- many: " + sql if many else sql, params))

    token = _log.set(log)
    event.listen(conn, "before_cursor_execute", before)
    try:
        yield log
    finally:
        event.remove(conn, "before_cursor_execute", before)
        _log.reset(token)


def digest(session: Session, reads: Sequence[Read]) -> str:
    """SHA-256 over each read's SQL, parameters and the rows it returns now (raw DBAPI rows)."""
    h = hashlib.sha256()
    cur = session.connection().connection.cursor()
    try:
        for sql, params in reads:
            if sql.lstrip()[:6].upper() != "SELECT":
                raise Writes(sql[:60])
            cur.execute(sql, params)
            h.update(repr((sql, params, cur.fetchall())).encode())
    finally:
        cur.close()
    return h.hexdigest()
