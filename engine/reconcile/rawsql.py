"""Read large result sets through the driver cursor into a DataFrame (no ORM Row per row).

Only for SQL built here from integers and fixed text: never user input.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session


def frame(session: Session, sql: str, columns: list[str]) -> pd.DataFrame:
    """Run `sql` and return its rows as a DataFrame with `columns`."""
    cur = session.connection().connection.cursor()
    try:
        cur.execute(sql)
        rows = cur.fetchall()
    finally:
        cur.close()
    return pd.DataFrame.from_records(rows, columns=columns)


def int_list(ids: object) -> str:
    """An SQL IN-list of integers (each passed through int())."""
    return ",".join(str(int(i)) for i in ids) or "NULL"  # type: ignore[attr-defined]


def arrays(session: Session, sql: str, spec: list[tuple[str, str]]) -> pd.DataFrame:
    """Like `frame`, but each column built straight into a numpy array of a declared kind.

    `spec` is [(column, kind)] with kind "int", "float" (NULL -> NaN) or "object" (kept as
    Python objects: no string-dtype inference, which costs seconds on a million rows).
    """
    cur = session.connection().connection.cursor()
    try:
        cur.execute(sql)
        rows = cur.fetchall()
    finally:
        cur.close()
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

    For the million-row reads of a run: one aggregate string (SQLite group_concat, PostgreSQL
    string_agg) instead of a million driver tuples, then `pd.read_csv` with declared dtypes.
    `exprs` are SQL expressions (one per column of `spec`; values must not contain commas or
    newlines: ids, codes, identifiers and numbers only), `tail` the FROM/WHERE clause.
    """
    dialect = session.connection().dialect.name
    if dialect == "postgresql":
        row = " || ',' || ".join(f"COALESCE(CAST({e} AS TEXT), '')" for e in exprs)
    else:  # SQLite's || turns numbers into text itself (as CAST would); only NULL needs care
        row = " || ',' || ".join(f"COALESCE({e}, '')" for e in exprs)
    agg = f"string_agg({row}, E'\\n')" if dialect == "postgresql" else f"group_concat({row}, char(10))"
    cur = session.connection().connection.cursor()
    try:
        cur.execute(f"SELECT {agg} {tail}")
        text = cur.fetchone()[0]
    finally:
        cur.close()
    kinds = {"int": np.int64, "float": np.float64, "object": object}
    if not text:
        return pd.DataFrame({c: pd.Series([], dtype=kinds[k]) for c, k in spec})
    df = pd.read_csv(
        io.StringIO(text),
        header=None,
        names=[c for c, _ in spec],
        dtype={c: kinds[k] for c, k in spec},
        keep_default_na=False,
        na_values={c: [""] for c, _ in spec},
        engine="c",
    )
    return df
