"""exchange_calendars loaded once per process (loading one takes about 0.4 s).

The package itself (about 0.2 CPU-s to import) is imported on the first calendar asked for,
not when the OMS module is: the desktop's PM workspace starts without it."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from exchange_calendars import ExchangeCalendar

_lock = threading.Lock()


@lru_cache(maxsize=64)
def _load(name: str) -> ExchangeCalendar:
    import exchange_calendars as xcals

    return xcals.get_calendar(name)


def calendar(name: str) -> ExchangeCalendar:
    """The exchange_calendars calendar `name` (e.g. XNYS), cached; thread-safe."""
    with _lock:
        return _load(name)
