"""Injectable clocks: every service asks a Clock for the time so tests can set it.

Times are timezone-aware. `now()` is UTC; `user_tz` is the zone the user sees.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    """What services need from a clock."""

    user_tz: ZoneInfo

    def now(self) -> datetime:
        """The current instant, timezone-aware in UTC."""
        ...

    def today(self, tz: ZoneInfo | None = None) -> date:
        """Today's date in `tz` (the user's zone by default)."""
        ...


def _require_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: times must carry a time zone")
    return value.astimezone(UTC)


class SystemClock:
    """The machine's clock."""

    def __init__(self, user_tz: str | ZoneInfo = "UTC") -> None:
        self.user_tz = user_tz if isinstance(user_tz, ZoneInfo) else ZoneInfo(user_tz)

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self, tz: ZoneInfo | None = None) -> date:
        return self.now().astimezone(tz or self.user_tz).date()


class ManualClock:
    """A clock that only moves when told: for tests and replays."""

    def __init__(self, start: datetime, user_tz: str | ZoneInfo = "UTC") -> None:
        self._now = _require_aware(start)
        self._lock = threading.Lock()
        self.user_tz = user_tz if isinstance(user_tz, ZoneInfo) else ZoneInfo(user_tz)

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def today(self, tz: ZoneInfo | None = None) -> date:
        return self.now().astimezone(tz or self.user_tz).date()

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = _require_aware(when)

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now = self._now + delta
