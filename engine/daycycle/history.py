"""The stored daily values and flows of an account, for performance (true history).

An account's stored series is used for a period when the day cycle closed a date on or before
its start (the starting value: the last close on or before it) and at least one date after it,
and the account has a stored value on every closed date from that start to the period's end;
otherwise None (the report then rebuilds the history from today's lots, engine.reports.history).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.daycycle.tables import AccountDailyValue, DayRun
from engine.state.daycycle import CLOSED


def stored_history(session: Session, account_id: int, start: date, end: date) -> pd.DataFrame | None:
    """value and flow (base currency, float) by closed date in [start, end], or None (see module)."""
    anchor = session.scalar(select(func.max(DayRun.day)).where(DayRun.status == CLOSED, DayRun.day <= start))
    if anchor is None:
        return None
    closed = list(
        session.scalars(
            select(DayRun.day)
            .where(DayRun.status == CLOSED, DayRun.day >= anchor, DayRun.day <= end)
            .order_by(DayRun.day)
        )
    )
    if len(closed) < 2:
        return None
    rows = session.execute(
        select(AccountDailyValue.day, AccountDailyValue.value, AccountDailyValue.flows)
        .where(AccountDailyValue.account_id == account_id, AccountDailyValue.day.in_(closed))
        .order_by(AccountDailyValue.day)
    ).all()
    if len(rows) != len(closed):
        return None
    return pd.DataFrame(
        {"value": [float(v) for _, v, _ in rows], "flow": [float(f) for _, _, f in rows]},
        index=pd.DatetimeIndex([pd.Timestamp(d) for d, _, _ in rows]),
    )
