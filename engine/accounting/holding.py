"""Holding-period classification of a realized gain (short or long term) by jurisdiction rule.

US (IRS Publication 550): long-term when held more than one year; the holding period starts the
day after acquisition and includes the day of sale, so a lot bought 2025-01-10 is long-term
when sold on 2026-01-11 or later, and short-term when sold on 2026-01-10.
"""

from __future__ import annotations

import calendar
from datetime import date

SHORT = "short"
LONG = "long"
NONE = "none"  # the jurisdiction draws no short/long distinction (no rule configured)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (Feb 29 + 12 months = Feb 28)."""
    m = day.month - 1 + months
    year, month = day.year + m // 12, m % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def term(acquired: date, sold: date, long_after_months: int | None) -> str:
    """'long' if sold after the anniversary `long_after_months` from `acquired`, else 'short'."""
    if long_after_months is None:
        return NONE
    return LONG if sold > add_months(acquired, long_after_months) else SHORT
