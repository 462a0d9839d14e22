"""Read many rows fast: the DBAPI cursor straight into numpy columns, skipping ORM Row objects.

SQLAlchemy builds a Row per result row; for a million lots that alone took most of 18 s. Here
the driver's tuples are flattened once into a float64 block (numeric columns) with np.fromiter.
Numeric columns come back as float (SQLite) or Decimal (PostgreSQL); dates as ISO strings
(SQLite) or date objects (PostgreSQL) and are cast to datetime64[D].
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from sqlalchemy.orm import Session


def _rows(session: Session, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    cur = session.connection().connection.cursor()
    try:
        cur.execute(sql)
        return cur.fetchall()
    finally:
        cur.close()


def fetch_numeric(session: Session, sql: str, ncols: int) -> np.ndarray:
    """Run `sql` (numeric columns only, no parameters) and return an (n, ncols) float64 block."""
    rows = _rows(session, sql)
    flat = itertools.chain.from_iterable(rows)
    if rows and not isinstance(rows[0][0], int | float):
        flat = map(float, flat)  # Decimal from PostgreSQL
    return np.fromiter(flat, dtype=np.float64, count=len(rows) * ncols).reshape(len(rows), ncols)


def fetch_dates(session: Session, sql: str) -> np.ndarray:
    """Run `sql` selecting one date column; datetime64[D] array."""
    return np.array([r[0] for r in _rows(session, sql)], dtype="datetime64[D]")


def id_list(ids: Sequence[int]) -> str:
    """An SQL IN-list of integers (each passed through int(), so nothing else can get in)."""
    return ",".join(str(int(i)) for i in ids) or "NULL"
