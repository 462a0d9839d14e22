"""Settlement dates from exchange calendars and the settlement cycle in force on the trade date.

Securities: trade date + n sessions of the security's exchange (exchange_calendars), where n is
the cycle effective on the trade date in table settlement_cycles (US/Canada T+1 since May 2024,
UK/EU T+2 until the T+1 move in October 2027). FX spot: T+2 counting only days that are
business days in both currencies' markets; USD/CAD (and a few pairs) settle T+1.
"""

from __future__ import annotations

import warnings
from datetime import date
from functools import lru_cache

import exchange_calendars as xcals
import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.store.reference import Exchange, SettlementCycle

# The exchange calendar whose business days stand for a currency's settlement days.
CURRENCY_CALENDAR: dict[str, str] = {
    "USD": "XNYS",
    "CAD": "XTSE",
    "GBP": "XLON",
    "EUR": "XFRA",
    "CHF": "XSWX",
    "JPY": "XTKS",
    "HKD": "XHKG",
    "AUD": "XASX",
    "SGD": "XSES",
    "SEK": "XSTO",
    "NOK": "XOSL",
    "DKK": "XCSE",
    "NZD": "XNZE",
}
# Spot pairs that settle T+1 instead of T+2 (market convention).
FX_T1_PAIRS: frozenset[frozenset[str]] = frozenset(
    {
        frozenset({"USD", "CAD"}),
        frozenset({"USD", "TRY"}),
        frozenset({"USD", "RUB"}),
        frozenset({"USD", "PHP"}),
    }
)
FX_SPOT_DAYS = 2


@lru_cache(maxsize=32)
def _sessions(calendar: str) -> np.ndarray:
    """Sorted session dates of an exchange_calendars calendar, as datetime64[D]."""
    with warnings.catch_warnings():
        # exchange_calendars 4.x trips a pandas 3 deprecation inside its own code; not ours to fix.
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message="Series.values returning")
        cal = xcals.get_calendar(calendar)
    return np.asarray(cal.sessions.values, dtype="datetime64[D]")


def add_sessions(sessions: np.ndarray, trade_date: date, n: int) -> date:
    """The n-th session strictly after `trade_date` (n=0: the trade date's own session or next)."""
    d = np.datetime64(trade_date, "D")
    i = int(np.searchsorted(sessions, d, side="right" if n > 0 else "left")) + max(n - 1, 0)
    if i >= len(sessions) or d < sessions[0]:
        raise NotFound(f"{trade_date} is outside the calendar ({sessions[0]} to {sessions[-1]})")
    return pd.Timestamp(sessions[i]).date()


def cycle_days(session: Session, mic: str, trade_date: date) -> int:
    """The settlement cycle (business days) in force at `mic` on `trade_date`."""
    days = session.scalars(
        select(SettlementCycle.days)
        .where(SettlementCycle.mic == mic, SettlementCycle.effective_from <= trade_date)
        .order_by(SettlementCycle.effective_from.desc())
        .limit(1)
    ).first()
    if days is None:
        raise NotFound(f"no settlement cycle for {mic} in force on {trade_date}")
    return int(days)


def security_settle_date(session: Session, mic: str, trade_date: date) -> date:
    """Trade date + the exchange's cycle in force, counted in that exchange's sessions."""
    exchange = session.get(Exchange, mic)
    if exchange is None:
        raise NotFound(f"exchange {mic!r} is not in the reference data")
    return add_sessions(_sessions(exchange.calendar), trade_date, cycle_days(session, mic, trade_date))


@lru_cache(maxsize=64)
def _joint_sessions(a: str, b: str) -> np.ndarray:
    sa = _sessions(CURRENCY_CALENDAR[a]) if a in CURRENCY_CALENDAR else None
    sb = _sessions(CURRENCY_CALENDAR[b]) if b in CURRENCY_CALENDAR else None
    if sa is None and sb is None:
        raise NotFound(f"no business-day calendar for {a} or {b}")
    if sa is None or sb is None:
        return sa if sb is None else sb  # type: ignore[return-value]
    return np.intersect1d(sa, sb)


def fx_spot_days(ccy1: str, ccy2: str) -> int:
    return 1 if frozenset({ccy1, ccy2}) in FX_T1_PAIRS else FX_SPOT_DAYS


def fx_settle_date(ccy1: str, ccy2: str, trade_date: date) -> date:
    """Spot value date: T+2 (T+1 for USD/CAD) in days that are business days for both currencies."""
    for c in (ccy1, ccy2):
        if c not in CURRENCY_CALENDAR:
            raise NotFound(f"no business-day calendar configured for currency {c}")
    a, b = sorted((ccy1, ccy2))
    return add_sessions(_joint_sessions(a, b), trade_date, fx_spot_days(ccy1, ccy2))
