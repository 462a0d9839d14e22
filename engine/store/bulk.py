"""Fast bulk inserts of DataFrames through SQLAlchemy Core (executemany in chunks)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

CHUNK = 20_000


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def insert_frame(session: Session, table: Table, frame: pd.DataFrame, chunk: int = CHUNK) -> int:
    """Insert every row of `frame` (columns named as the table's) into `table`; returns rows."""
    if frame.empty:
        return 0
    cols = list(frame.columns)
    conn = session.connection()
    for start in range(0, len(frame), chunk):
        part = frame.iloc[start : start + chunk]
        records = [dict(zip(cols, map(_clean, row))) for row in part.itertuples(index=False, name=None)]
        conn.execute(insert(table), records)
    return len(frame)
