"""Market sessions for the clock: opens and closes in UTC from exchange_calendars, per exchange."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from engine.markets.sessions import session_bounds_apart
from engine.store.database import Database
from engine.store.reference import Exchange, Security
from widgets.market_clock import MarketSchedule


def market_schedules(database: Database, now: datetime, days: int = 10) -> list[MarketSchedule]:
    """Sessions of the markets the book trades (or all exchanges if no securities), around `now`.

    The calendars are built in a child process (`session_bounds_apart`): in the desk's process
    they held the GIL for about 0.6 s and stalled the GUI thread while big tables loaded."""
    with database.session() as s:
        exchanges = s.execute(select(Exchange.mic, Exchange.name, Exchange.timezone, Exchange.calendar)).all()
        traded = set(s.scalars(select(Security.mic).distinct()))
    if traded:
        exchanges = [e for e in exchanges if e[0] in traded]
    bounds = session_bounds_apart([e[3] for e in exchanges], now.date(), days)
    return [MarketSchedule(mic, name, tz, *bounds[cal]) for mic, name, tz, cal in sorted(exchanges)]
