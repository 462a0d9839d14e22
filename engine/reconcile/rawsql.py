"""Read large result sets through the driver cursor into a DataFrame (no ORM Row per row).

Only for SQL built here from integers and fixed text: never user input.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable


def frame(session: Session, sql: str, columns: list[str]) -> pd.DataFrame:
    """Run `sql` and return its rows as a DataFrame with `columns`."""
    return pd.DataFrame.from_records(_rows(session, sql), columns=columns)


def _rows(session: Session, sql: str) -> list[tuple[object, ...]]:
    """Every row of `sql` as tuples, through the driver's own cursor (no ORM or Row objects)."""
    cur = session.connection().connection.cursor()
    try:
        cur.execute(sql)
        return list(cur.fetchall())
    finally:
        cur.close()


def int_list(ids: object) -> str:
    """An SQL IN-list of integers (each passed through int())."""
    return ",".join(str(int(i)) for i in ids) or "NULL"  # type: ignore[attr-defined]


def arrays(session: Session, sql: str, spec: list[tuple[str, str]]) -> pd.DataFrame:
    """Like `frame`, but each column built straight into a numpy array of a declared kind.

    `spec` is [(column, kind)] with kind "int", "float" (NULL -> NaN) or "object" (kept as
    Python objects: no string-dtype inference, which costs seconds on a million rows).
    """
    rows = _rows(session, sql)
    kinds = {"int": np.int64, "float": np.float64, "object": object}
    if not rows:
        return pd.DataFrame({c: pd.Series([], dtype=kinds[k]) for c, k in spec})
    cols = list(zip(*rows))
    del rows
    return pd.DataFrame(
        {
            c: pd.Series(np.array(v, dtype=kinds[k]), dtype=kinds[k], copy=False)
            for (c, k), v in zip(spec, cols)
        },
        copy=False,
    )


def csv_frame(session: Session, exprs: list[str], tail: str, spec: list[tuple[str, str]]) -> pd.DataFrame:
    """Rows serialised to CSV text by the database itself, parsed by pandas' C reader.

    For the million-row reads of a run: one aggregate string (SQLite group_concat of one printf
    per row, handed over as bytes; PostgreSQL string_agg) instead of a million driver tuples,
    then `pd.read_csv` with declared dtypes.
    `exprs` are SQL expressions (one per column of `spec`; values must not contain commas or
    newlines: ids, codes, identifiers and numbers only), `tail` the FROM/WHERE clause. A
    "category" column is factorized by the C reader itself: a code per row, each distinct text
    built once (account codes, identifiers, currencies repeat over a million lines).
    """
    dialect = session.connection().dialect.name
    if dialect == "postgresql":
        row = " || ',' || ".join(f"COALESCE(CAST({e} AS TEXT), '')" for e in exprs)
        agg = f"string_agg({row}, E'\\n')"
    else:  # one printf per row (NULL prints as ''), cheaper than a chain of ||; bytes, not str
        fmt = ",".join("%d" if kind == "int" else "%s" for _, kind in spec)
        agg = f"CAST(group_concat(printf('{fmt}', {', '.join(exprs)}), char(10)) AS BLOB)"
    cur = session.connection().connection.cursor()
    try:
        cur.execute(f"SELECT {agg} {tail}")
        found = cur.fetchone()
        text = found[0] if found else None
    finally:
        cur.close()
    kinds = {"int": np.int64, "float": np.float64, "object": object, "category": "category"}
    if not text:
        return pd.DataFrame({c: pd.Series([], dtype=kinds[k]) for c, k in spec})
    df = pd.read_csv(
        io.BytesIO(text if isinstance(text, bytes) else str(text).encode()),
        header=None,
        names=[c for c, _ in spec],
        dtype={c: kinds[k] for c, k in spec},
        keep_default_na=False,
        na_values={c: [""] for c, _ in spec},
        engine="c",
    )
    return df


def scaled(session: Session, column: str, places: int) -> str:
    """SQL for a NUMERIC column as a whole number of 10**-places units (NULL stays NULL).

    Integers are turned into text (and parsed back) several times faster than doubles, and the
    value divided by 10**places in numpy is the nearest double to the stored decimal.
    """
    return f"CAST(ROUND({column} * {10**places}) AS BIGINT)"


def pair_key(first: str, second: str, shift: int = 1 << 24) -> str:
    """SQL for one int64 key from two integer ids (`second` below `shift`): one column to read."""
    return f"(CAST({first} AS BIGINT) * {shift} + {second})"


def select_frame(session: Session, stmt: Executable, columns: list[str]) -> pd.DataFrame:
    """Rows of an ORM select as a DataFrame, through plain tuples (pandas probes every Row's
    attributes otherwise: a quarter of a second for 25,000 rows)."""
    rows = session.connection().execute(stmt)  # Core: no ORM loading machinery per row
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=columns)
