"""FX tables remembered by the very rates they were built from, for checks run order after order.

A single order's pre-trade check (engine.compliance.book.load_book) needs the cross rates of one
date: reading their rows costs a few milliseconds, pivoting them into an `FxTable` some tens.
The rows are read every time and are the key, so a rate added, corrected or removed (by any desk,
in any process) builds a new table; a table is never used for rows other than its own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.pricing.fx import MAX_STALE_DAYS, FxTable
from engine.store.market import FxRate

KEEP = 8
"""Tables remembered (a few as-of dates); the oldest used is dropped first."""

_memo: OrderedDict[tuple[Any, ...], FxTable] = OrderedDict()
_lock = threading.Lock()
stats = {"built": 0, "reused": 0}
"""How often a table was built and reused (tests and benchmarks read it)."""


def fx_table(session: Session, start: date, end: date, max_stale_days: int = MAX_STALE_DAYS) -> FxTable:
    """`FxTable.load(session, start, end, max_stale_days)`, built once per distinct set of rows."""
    q = (
        select(FxRate.base, FxRate.quote, FxRate.date, FxRate.rate)
        .where(FxRate.date >= start - timedelta(days=max_stale_days), FxRate.date <= end)
        .order_by(FxRate.base, FxRate.quote, FxRate.date)
    )
    rows = tuple(tuple(r) for r in session.execute(q).all())
    key = (max_stale_days, rows)
    with _lock:
        table = _memo.get(key)
        if table is not None:
            _memo.move_to_end(key)
            stats["reused"] += 1
            return table
    table = FxTable(pd.DataFrame(list(rows), columns=["base", "quote", "date", "rate"]), max_stale_days)
    with _lock:
        _memo[key] = table
        while len(_memo) > KEEP:
            _memo.popitem(last=False)
        stats["built"] += 1
    return table


def forget() -> None:
    """Drop every remembered table (tests)."""
    with _lock:
        _memo.clear()
