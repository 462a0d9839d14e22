"""Write a statement's lines in bulk, column by column, in the caller's transaction.

SQLite: one driver executemany over plain tuples (numbers as the doubles SQLAlchemy would bind
for them). PostgreSQL: one COPY ... FROM STDIN through psycopg, numbers sent as their decimal
text (NUMERIC parses the exact decimal, as it did from the Decimal bound before). No ORM objects,
no per-row bind processing; the rows are stored in file order, exactly as the line-by-line insert
stored them.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat

import numpy as np
from sqlalchemy.orm import Session

from engine.reconcile.nogc import gc_paused
from engine.reconcile.statement import NUMBER_COLUMNS, StatementColumns

CHUNK = 100_000
_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _upper(values: Sequence[object]) -> Sequence[object]:
    """Upper-cased text (the readers already give it so: then one check over all of it)."""
    joined = "\n".join(map(str, values))
    if joined.upper() == joined:
        return values
    seen: dict[object, object] = {}
    return [seen[v] if v in seen else seen.setdefault(v, str(v).upper()) for v in values]


def prepared(cols: StatementColumns, uppercase: tuple[str, ...]) -> dict[str, Sequence[object]]:
    """The columns as stored: `uppercase` columns in upper case."""
    data: dict[str, Sequence[object]] = dict(cols.data)
    for c in uppercase:
        if c in data:
            data[c] = _upper(data[c])
    return data


def insert_lines(session: Session, table: str, statement_id: int, data: dict[str, Sequence[object]]) -> int:
    """Insert the lines (columns named as the table's) for `statement_id`; returns the row count.
    The cyclic collector is paused meanwhile: a million row tuples would make it walk them all."""
    if not data["row"]:
        return 0
    with gc_paused():
        return _insert(session, table, statement_id, data)


def _insert(session: Session, table: str, statement_id: int, data: dict[str, Sequence[object]]) -> int:
    n = len(data["row"])
    conn = session.connection()
    names = ["statement_id", *data]
    if conn.dialect.name == "postgresql":
        _copy(conn.connection.driver_connection, table, names, statement_id, data)
        return n
    columns: list[Sequence[object]] = [list(repeat(statement_id, n))]
    for c, values in data.items():
        columns.append(_floats(values) if c in NUMBER_COLUMNS else values)
    sql = f'INSERT INTO "{table}" ({", ".join(names)}) VALUES ({", ".join("?" * len(names))})'
    cur = conn.connection.cursor()
    try:
        # sqlite3 takes any iterable: tuples built one at a time, not a list of a million
        cur.executemany(sql, zip(*columns))  # type: ignore[arg-type]
    finally:
        cur.close()
    return n


def _floats(values: Sequence[object]) -> list[float | None]:
    """What SQLAlchemy's SQLite dialect binds for a Numeric: the nearest double (None stays)."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    missing = arr == None  # noqa: E711 (elementwise)
    if missing.any():
        arr[missing] = "nan"
        out: list[float | None] = list(arr.astype(np.float64).tolist())
        for i in np.flatnonzero(missing).tolist():
            out[i] = None
        return out
    return list(arr.astype(np.float64).tolist())  # float() of each decimal text or Decimal: correctly rounded


def _text_column(values: Sequence[object]) -> list[str]:
    """A column as COPY text: \\N for NULL, backslash, tab and line breaks escaped."""
    text = [None if v is None else str(v) for v in values]
    joined = "".join(t for t in text if t is not None)
    if any(ch in joined for ch in _ESCAPES):
        text = [None if t is None else "".join(_ESCAPES.get(ch, ch) for ch in t) for t in text]
    return ["\\N" if t is None else t for t in text]


def _copy(
    dbapi: object, table: str, names: list[str], statement_id: int, data: dict[str, Sequence[object]]
) -> None:
    """COPY the rows in text format through psycopg (the caller's connection and transaction)."""
    n = len(data["row"])
    text_cols = [list(repeat(str(statement_id), n)), *(_text_column(v) for v in data.values())]
    sql = f'COPY "{table}" ({", ".join(names)}) FROM STDIN'
    with dbapi.cursor() as cur, cur.copy(sql) as copy:  # type: ignore[attr-defined]
        for start in range(0, n, CHUNK):
            part = [col[start : start + CHUNK] for col in text_cols]
            copy.write("\n".join(map("\t".join, zip(*part))) + "\n")
