"""Read large result sets through the driver cursor into a DataFrame (no ORM Row per row).

Only for SQL built here from integers and fixed text: never user input.
"""

from __future__ import annotations

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
