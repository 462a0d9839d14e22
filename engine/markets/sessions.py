"""Exchange sessions (opens and closes in UTC) for a date range, built in a process of their own.

Building exchange_calendars calendars is pandas work that holds the GIL: 0.6-1.2 CPU s for the
demo book's 13 markets, the package's import included (measured 7-8 December). In the desk's
process that stalled the GUI thread while the 20,000-order blotter loaded; a spawned child does it
on the other core and sends back plain numpy arrays. Nothing is read from the store here: the
caller says which calendars, the child only computes.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

MARGIN_DAYS = 5
"""Each calendar is built this many days beyond the range asked for (a session at the range's
edge needs its neighbours for the previous/next close)."""
CHILD_NICE = 5
"""The child runs nicer than the desk: the GUI thread comes first on a 2-core machine."""

Bounds = dict[str, tuple[np.ndarray, np.ndarray]]


def session_bounds(calendars: list[str], start: date, end: date) -> Bounds:
    """Each calendar's session opens and closes from `start` to `end` inclusive, as naive UTC
    `datetime64[s]` arrays (the market clock's form), computed in this process."""
    import exchange_calendars as xcals
    import pandas as pd

    first, last = pd.Timestamp(start), pd.Timestamp(end)
    margin = pd.Timedelta(days=MARGIN_DAYS)
    out: Bounds = {}
    for name in sorted(set(calendars)):
        sched = xcals.get_calendar(name, start=first - margin, end=last + margin).schedule.loc[first:last]
        opens = sched["open"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[s]")
        closes = sched["close"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[s]")
        out[name] = (np.asarray(opens), np.asarray(closes))
    return out


def _be_nice() -> None:
    if hasattr(os, "nice"):
        os.nice(CHILD_NICE)


def session_bounds_apart(calendars: list[str], around: date, days: int) -> Bounds:
    """`session_bounds` for `days` either side of `around`, computed in a spawned child process
    (no fork of a threaded GUI process); blocks the calling thread (never the GUI's) until done.
    The same question asked again in this process (a refresh, another window) is answered from
    memory: sessions of past and coming days do not change. A failure in the child is raised here."""
    return _apart(tuple(sorted(set(calendars))), around, days)


@lru_cache(maxsize=8)
def _apart(calendars: tuple[str, ...], around: date, days: int) -> Bounds:
    start, end = around - timedelta(days=days), around + timedelta(days=days)
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"), initializer=_be_nice) as pool:
        return pool.submit(session_bounds, list(calendars), start, end).result()
