"""exchange_calendars loaded once per process (loading one takes about 0.4 s)."""

from __future__ import annotations

import threading
from functools import lru_cache

import exchange_calendars as xcals
from exchange_calendars import ExchangeCalendar

_lock = threading.Lock()


@lru_cache(maxsize=64)
def _load(name: str) -> ExchangeCalendar:
    return xcals.get_calendar(name)


def calendar(name: str) -> ExchangeCalendar:
    """The exchange_calendars calendar `name` (e.g. XNYS), cached; thread-safe."""
    with _lock:
        return _load(name)
