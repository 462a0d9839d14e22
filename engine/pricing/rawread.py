"""Read many rows fast: the DBAPI cursor straight into numpy columns, skipping ORM Row objects.

SQLAlchemy builds a Row per result row; for a million lots that alone took most of 18 s. Here
the driver's tuples are flattened once into a float64 block (numeric columns) with np.fromiter.
The per-row cost of the driver dominates (SQLite's own scan of 1.35M lots is ~0.4 s of CPU), so
read one table once: dates come as whole days since 1970 (`epoch_days`) in the same numeric
block instead of a second scan of ISO strings, and PostgreSQL NUMERIC columns are cast to double
in SQL (`as_float`) rather than built as Decimals and converted.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy.orm import Session


def fetch_rows(session: Session, sql: str) -> list[tuple[Any, ...]]:
    """Run `sql` (no parameters) on the session's connection; the driver's plain tuples."""
    cur = session.connection().connection.cursor()
    try:
        cur.execute(sql)
        return list(cur.fetchall())
    finally:
        cur.close()


def fetch_numeric(session: Session, sql: str, ncols: int, chunk: int = 65536) -> np.ndarray:
    """Run `sql` (numeric columns only, no parameters) and return an (n, ncols) float64 block.

    Fetched in chunks, so a million rows never sit in memory as Python tuples all at once.
    """
    cur = session.connection().connection.cursor()
    parts = []
    try:
        cur.execute(sql)
        while batch := cur.fetchmany(chunk):
            flat: Iterable[Any] = itertools.chain.from_iterable(batch)
            if any(not isinstance(v, int | float) for v in batch[0]):
                flat = map(float, flat)  # Decimal from PostgreSQL
            parts.append(np.fromiter(flat, dtype=np.float64, count=len(batch) * ncols))
    finally:
        cur.close()
    if not parts:
        return np.zeros((0, ncols))
    return np.concatenate(parts).reshape(-1, ncols)


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def epoch_days(session: Session, column: str) -> str:
    """SQL for a DATE column as whole days since 1970-01-01 (an integer), on SQLite or PostgreSQL."""
    if _postgres(session):
        return f"({column} - DATE '1970-01-01')"
    return f"CAST(julianday({column}) - 2440587.5 AS INTEGER)"


def as_float(session: Session, column: str) -> str:
    """SQL for a NUMERIC column read as a float (PostgreSQL would otherwise build Decimals)."""
    return f"CAST({column} AS DOUBLE PRECISION)" if _postgres(session) else column


def fetch_dates(session: Session, sql: str) -> np.ndarray:
    """Run `sql` selecting one date column; datetime64[D] array."""
    return np.array([r[0] for r in fetch_rows(session, sql)], dtype="datetime64[D]")


def id_list(ids: Iterable[int]) -> str:
    """An SQL IN-list of integers (each passed through int(), so nothing else can get in)."""
    return ",".join(str(int(i)) for i in ids) or "NULL"


def date_literal(d: date) -> str:
    """An ISO date as an SQL string literal (from a date object: nothing else can get in)."""
    return "'" + d.isoformat()[:10] + "'"
