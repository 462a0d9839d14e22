"""Market sessions for the clock: opens and closes in UTC from exchange_calendars, per exchange."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import select

from engine.store.database import Database
from engine.store.reference import Exchange, Security
from widgets.market_clock import MarketSchedule


def market_schedules(database: Database, now: datetime, days: int = 10) -> list[MarketSchedule]:
    """Sessions of the markets the book trades (or all exchanges if no securities), around `now`."""
    import exchange_calendars as xcals

    with database.session() as s:
        exchanges = s.execute(select(Exchange.mic, Exchange.name, Exchange.timezone, Exchange.calendar)).all()
        traded = set(s.scalars(select(Security.mic).distinct()))
    if traded:
        exchanges = [e for e in exchanges if e[0] in traded]
    start = pd.Timestamp(now.date() - timedelta(days=days))
    end = pd.Timestamp(now.date() + timedelta(days=days))
    out = []
    for mic, name, tz, cal_name in sorted(exchanges):
        cal = xcals.get_calendar(cal_name, start=start - pd.Timedelta(days=5), end=end + pd.Timedelta(days=5))
        sched = cal.schedule.loc[start:end]
        opens = sched["open"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[s]")
        closes = sched["close"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[s]")
        out.append(MarketSchedule(mic, name, tz, np.asarray(opens), np.asarray(closes)))
    return out
