"""Market hours for the simulator: the shipped exchange list and a clock that may start elsewhere."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import resources
from engine.markets.clock import Market, MarketClock
from engine.store.reference_seed import read_reference


class SimClock:
    """Real time, or a start instant running at `speed` times real time (for closing-time tests)."""

    def __init__(self, start: datetime | None = None, speed: float = 1.0) -> None:
        self.user_tz = ZoneInfo("UTC")
        self._start = start
        self._t0 = time.monotonic()
        self.speed = speed

    def now(self) -> datetime:
        if self._start is None:
            return datetime.now(UTC)
        return self._start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)

    def today(self, tz: ZoneInfo | None = None):  # type: ignore[no-untyped-def]
        return self.now().astimezone(tz or self.user_tz).date()


def market_clock(clock: SimClock) -> MarketClock:
    """The shipped exchanges (engine.store.reference_seed, the one reference loader) on `clock`."""
    rows = read_reference(resources.path("reference")).exchanges
    return MarketClock(clock, {r.mic: Market(r.mic, r.name, r.calendar, r.timezone) for r in rows})
