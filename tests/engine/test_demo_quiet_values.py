"""The quiet days' values bound straight from their arrays are the rows insert_frame binds from
the frame (the path before, and the one PostgreSQL and NaN values still take)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np

from engine.daycycle.tables import AccountDailyValue
from engine.demo.history_values import QuietValues, insert_quiet_values, quiet_frame
from engine.store.bulk import insert_frame


class _Conn:
    """Records what a SQLite connection would be asked to execute."""

    class dialect:  # the attribute SQLAlchemy's Connection has
        name = "sqlite"

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[tuple[Any, ...]]]] = []

    def exec_driver_sql(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self.calls.append((sql, list(rows)))


class _Session:
    def __init__(self) -> None:
        self.conn = _Conn()

    def connection(self) -> _Conn:
        return self.conn


def _bound(insert: Any) -> list[tuple[str, list[tuple[Any, ...]]]]:
    s = _Session()
    insert(s)
    return [(sql, [tuple((type(v).__name__, v) for v in row) for row in rows]) for sql, rows in s.conn.calls]


def test_the_rows_bound_from_the_arrays_are_the_frames_rows() -> None:
    rng = np.random.default_rng(7)
    days = [date(2024, 1, 2) + timedelta(days=i) for i in range(40)]
    n_acc = 1_700  # more rows than one chunk: the chunks split alike
    q = QuietValues(
        days=days,
        ids=np.arange(5, 5 + n_acc, dtype=np.int64),
        base=np.array(["USD", "EUR", "JPY", "CHF"] * (n_acc // 4) + ["GBP"] * (n_acc % 4), dtype=object),
        market_value=np.round(rng.normal(1e6, 3e5, (len(days), n_acc)), 2),
        cash=np.round(rng.normal(1e4, 1e4, (len(days), n_acc)), 2),
    )
    q.cash[:, 3] = 0.0  # integral values bind as the same floats
    fast = _bound(lambda s: insert_quiet_values(s, q))
    frame = _bound(lambda s: insert_frame(s, AccountDailyValue.__table__, quiet_frame(q)))
    assert len(fast) == len(frame) == 2
    assert fast == frame
    _sql, rows = fast[0]
    assert rows[0][:2] == (("int", 5), ("str", days[0].isoformat()))
    assert rows[1][1] == ("str", days[1].isoformat())  # account-major: an account's days together
