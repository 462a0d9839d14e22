"""The market clock: which markets are open now, their local time, and when they open or close.

Routing asks it whether an order's market is open and, if not, when it opens (the held order's
release time); the OMS asks it when a day order's market closes; the UI lists every market.
All times are timezone-aware UTC; `local_time` is in the exchange's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.errors import NotFound
from engine.markets.calendars import calendar
from engine.store.reference import Exchange


@dataclass(frozen=True, slots=True)
class Market:
    """An exchange as the clock needs it."""

    mic: str
    name: str
    calendar: str
    timezone: str


@dataclass(frozen=True, slots=True)
class MarketStatus:
    """One market at one instant, for the market clock panel."""

    mic: str
    name: str
    is_open: bool
    local_time: datetime
    next_open: datetime
    next_close: datetime
    time_to_change: timedelta  # to the close when open, to the open when closed


def _ts(at: datetime) -> pd.Timestamp:
    return pd.Timestamp(at.astimezone(UTC)).floor("min")


def _dt(ts: pd.Timestamp) -> datetime:
    return ts.to_pydatetime().astimezone(UTC)


class MarketClock:
    """Sessions of every exchange in the book, asked at the injected clock's time by default."""

    def __init__(self, clock: Clock, markets: dict[str, Market]) -> None:
        self.clock = clock
        self.markets = markets

    @classmethod
    def from_store(cls, session: Session, clock: Clock) -> MarketClock:
        rows = session.scalars(select(Exchange)).all()
        return cls(clock, {e.mic: Market(e.mic, e.name, e.calendar, e.timezone) for e in rows})

    def market(self, mic: str) -> Market:
        try:
            return self.markets[mic]
        except KeyError:
            raise NotFound(f"unknown exchange {mic!r}") from None

    def _at(self, at: datetime | None) -> datetime:
        return (at or self.clock.now()).astimezone(UTC)

    def is_open(self, mic: str, at: datetime | None = None) -> bool:
        """True when `at` is a trading minute (holidays, early closes and lunch breaks count)."""
        cal = calendar(self.market(mic).calendar)
        return bool(cal.is_open_on_minute(_ts(self._at(at))))

    def next_open(self, mic: str, at: datetime | None = None) -> datetime:
        """The next minute the market trades after `at` (the end of a lunch break counts)."""
        cal = calendar(self.market(mic).calendar)
        return _dt(cal.next_minute(_ts(self._at(at))))

    def next_close(self, mic: str, at: datetime | None = None) -> datetime:
        """The close of the session `at` is in, or of the next session if closed."""
        cal = calendar(self.market(mic).calendar)
        return _dt(cal.next_close(_ts(self._at(at))))

    def release_time(self, mic: str, at: datetime | None = None) -> datetime | None:
        """None when the market is open now, else when an order held for it is released."""
        return None if self.is_open(mic, at) else self.next_open(mic, at)

    def session_date(self, mic: str, at: datetime | None = None) -> date:
        """The trade date of `at` at this market: its session, or the next one when closed."""
        cal = calendar(self.market(mic).calendar)
        return cal.minute_to_session(_ts(self._at(at)), direction="next").date()

    def add_sessions(self, mic: str, day: date, n: int) -> date:
        """The date n sessions after `day` at this market (settlement: T+n business days)."""
        cal = calendar(self.market(mic).calendar)
        start = cal.date_to_session(pd.Timestamp(day), direction="next")
        return cal.session_offset(start, n).date()

    def status(self, at: datetime | None = None) -> list[MarketStatus]:
        """Every market: open or not, local time, next open and close, time to the next change."""
        now = self._at(at)
        out = []
        for m in sorted(self.markets.values(), key=lambda m: m.mic):
            is_open = self.is_open(m.mic, now)
            nxt_open = now if is_open else self.next_open(m.mic, now)
            nxt_close = self.next_close(m.mic, now)
            change = (nxt_close if is_open else nxt_open) - now
            out.append(
                MarketStatus(
                    mic=m.mic,
                    name=m.name,
                    is_open=is_open,
                    local_time=now.astimezone(ZoneInfo(m.timezone)),
                    next_open=nxt_open,
                    next_close=nxt_close,
                    time_to_change=change,
                )
            )
        return out
