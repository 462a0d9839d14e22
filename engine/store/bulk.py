"""Fast bulk inserts of DataFrames.

On SQLite, columns are converted once, vectorized, to what SQLAlchemy itself would store (ISO
date strings, JSON text, 0/1, REAL) and handed to the driver's executemany, skipping per-row
bind processing (about 3x faster on a million lots). Elsewhere, Core executemany in chunks.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import JSON, Boolean, Date, DateTime, FromClause, Numeric, Table, insert
from sqlalchemy.orm import Session

CHUNK = 50_000


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _sqlite_column(series: pd.Series, coltype: Any) -> list[Any]:
    """One column as the Python values SQLAlchemy's SQLite dialect would bind."""
    if isinstance(coltype, DateTime):
        raise TypeError("bulk insert of datetimes is not supported; use the ORM")
    if isinstance(coltype, Date):
        # Formatted once per distinct date (a bulk of daily values repeats a few dates).
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        text = [*pd.to_datetime(pd.Series(uniques)).dt.strftime("%Y-%m-%d").tolist(), None]
        return [text[i] for i in codes.tolist()]
    if isinstance(coltype, JSON):
        return [None if v is None else json.dumps(v) for v in series]
    if isinstance(coltype, Boolean):
        return [
            None if v is None or (isinstance(v, float) and math.isnan(v)) else int(bool(v)) for v in series
        ]
    if isinstance(coltype, Numeric):
        values = (
            series.map(lambda v: float(v) if isinstance(v, Decimal) else v)
            if series.dtype == object
            else series
        )
        arr = pd.to_numeric(values, errors="raise").astype(float).to_numpy()
        if not np.isnan(arr).any():
            return arr.tolist()
        return [None if math.isnan(v) else v for v in arr.tolist()]
    if series.dtype.kind in "iub":  # no missing values in these dtypes: Python ints (bools) at once
        return series.to_numpy().tolist()
    values = series.astype(object).where(series.notna(), None)
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def table_of(orm: type) -> Table:
    """A mapped class's table: a bulk insert of it is a Core executemany, without the ORM's
    per-row bulk work (same rows, same Python-side defaults)."""
    return cast(Table, orm.__table__)  # type: ignore[attr-defined]


def insert_frame(session: Session, table: Table | FromClause, frame: pd.DataFrame, chunk: int = CHUNK) -> int:
    """Insert every row of `frame` (columns named as the table's) into `table`; returns rows."""
    table = cast(Table, table)  # an ORM class's __table__ is typed as FromClause; it is a Table
    if frame.empty:
        return 0
    cols = list(frame.columns)
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        columns = [_sqlite_column(frame[c], table.c[c].type) for c in cols]
        sql = f'INSERT INTO "{table.name}" ({", ".join(cols)}) VALUES ({", ".join("?" * len(cols))})'
        rows = list(zip(*columns))
        for start in range(0, len(rows), chunk):
            conn.exec_driver_sql(sql, rows[start : start + chunk])
        return len(frame)
    for start in range(0, len(frame), chunk):
        part = frame.iloc[start : start + chunk]
        records = [dict(zip(cols, map(_clean, row))) for row in part.itertuples(index=False, name=None)]
        conn.execute(insert(table), records)
    return len(frame)
