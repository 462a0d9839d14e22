"""The one holding-period rule (short or long term) used by booking, lot relief, reports, the
rebalance tax estimate and the holdings grid.

US (IRS Publication 550): long-term when held more than one year; the day of acquisition is not
counted and the day of sale is, so a lot bought 2025-01-10 is long-term when sold on 2026-01-11
or later, and short-term when sold on 2026-01-10. Months are calendar months (Rev. Rul. 66-7):
a holding month begins on the same day of each month as the day after acquisition, so for a lot
bought on a month's last day every holding month ends on a month's last day. Bought 2025-02-28,
the year ends 2026-02-28 (a sale on 2026-03-01 is long-term); bought 2024-02-29, it ends
2025-02-28; bought 2023-02-28, it ends 2024-02-29 (a sale that day is still short-term).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

SHORT = "short"
LONG = "long"
NONE = "none"  # the jurisdiction draws no short/long distinction (no rule configured)
US_MONTHS = 12  # "more than one year"


def _month_end(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def period_end(acquired: date, months: int) -> date:
    """The last day of a holding period of `months` calendar months starting the day after
    `acquired`: the same day `months` later, or that month's last day when `acquired` is a
    month's last day (Rev. Rul. 66-7) or the day does not exist there."""
    m = acquired.month - 1 + months
    year, month = acquired.year + m // 12, m % 12 + 1
    last = _month_end(year, month)
    if acquired.day == _month_end(acquired.year, acquired.month):
        return date(year, month, last)
    return date(year, month, min(acquired.day, last))


def term(acquired: date, sold: date, long_after_months: int | None) -> str:
    """'long' if sold after the holding period of `long_after_months` from `acquired` ended, else
    'short'; 'none' where the jurisdiction has no rule."""
    if long_after_months is None:
        return NONE
    return LONG if sold > period_end(acquired, long_after_months) else SHORT


@lru_cache(maxsize=256)
def last_long_acquisition(sold: date, months: int = US_MONTHS) -> date:
    """The latest acquisition date that is long-term on `sold`. `period_end` never decreases
    with the acquisition date, so one cut-off per sale date classifies a whole array of lots."""
    d = sold - timedelta(days=31 * months + 62)  # safely long-term: its period ended before `sold`
    hi = sold
    while d < hi:  # binary search over days for the last d with period_end(d) < sold
        mid = d + (hi - d + timedelta(days=1)) // 2
        if period_end(mid, months) < sold:
            d = mid
        else:
            hi = mid - timedelta(days=1)
    return d


def long_term_mask(acquired: object, sold: date, months: int = US_MONTHS) -> np.ndarray:
    """True where a lot acquired on `acquired` (dates or datetime64) sold on `sold` is long-term."""
    days = np.asarray(acquired).astype("datetime64[D]")
    return days <= np.datetime64(last_long_acquisition(sold, months), "D")
