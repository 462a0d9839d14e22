"""The one holding-period rule: more than one year, acquisition day not counted, month-end rule.

The expectations come from a second, independent reading of IRS Publication 550 and Rev. Rul.
66-7: the holding period starts the day after acquisition (S); a new holding month starts on S's
day of each later month (the 1st of the next month where that day does not exist); a lot is held
more than N months once the sale falls on or after the start of month N+1.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from engine.accounting.booking import LedgerBooker
from engine.accounting.holding import LONG, NONE, SHORT, long_term_mask, period_end, term
from engine.model.enums import Side
from engine.rebalance.taxes import is_long_term
from engine.store.database import Database
from tests.engine.accounting.book import build_small_book
from tests.engine.accounting.test_booking import fill


def _next_period_start(acquired: date, months: int) -> date:
    """The first day after a holding period of `months` months (the oracle, written separately)."""
    start = acquired + timedelta(days=1)
    y, m = divmod(start.month - 1 + months, 12)
    year, month = start.year + y, m + 1
    try:
        return date(year, month, start.day)
    except ValueError:  # that day does not exist in the month: the period turns on the 1st after
        return date(year + month // 12, month % 12 + 1, 1)


def _oracle_long(acquired: date, sold: date, months: int = 12) -> bool:
    return sold >= _next_period_start(acquired, months)


@pytest.mark.parametrize(
    ("acquired", "sold", "expected"),
    [
        (date(2025, 1, 10), date(2026, 1, 10), SHORT),  # exactly one year: not more than one
        (date(2025, 1, 10), date(2026, 1, 11), LONG),
        (date(2025, 2, 28), date(2026, 2, 28), SHORT),  # month's last day: the year ends 2026-02-28
        (date(2025, 2, 28), date(2026, 3, 1), LONG),
        (date(2024, 2, 29), date(2025, 2, 28), SHORT),  # leap day: the year ends 2025-02-28
        (date(2024, 2, 29), date(2025, 3, 1), LONG),
        (date(2023, 2, 28), date(2024, 2, 29), SHORT),  # last day of Feb 2023: ends 2024-02-29
        (date(2023, 2, 28), date(2024, 3, 1), LONG),
        (date(2024, 2, 28), date(2025, 2, 28), SHORT),  # not a month end in 2024: same day
        (date(2024, 2, 28), date(2025, 3, 1), LONG),
        (date(2025, 4, 30), date(2026, 4, 30), SHORT),
        (date(2025, 4, 30), date(2026, 5, 1), LONG),
        (date(2024, 12, 31), date(2025, 12, 31), SHORT),
        (date(2024, 12, 31), date(2026, 1, 1), LONG),
    ],
)
def test_us_year_at_the_edges(acquired: date, sold: date, expected: str) -> None:
    assert term(acquired, sold, 12) == expected
    assert bool(long_term_mask([np.datetime64(acquired)], sold)[0]) is (expected == LONG)
    assert bool(is_long_term(np.array([acquired], dtype="datetime64[D]"), sold)[0]) is (expected == LONG)


def test_month_end_rule_for_other_periods() -> None:
    # Rev. Rul. 66-7: bought on a month's last day, every holding month ends on a month's last day.
    assert period_end(date(2025, 2, 28), 6) == date(2025, 8, 31)
    assert term(date(2025, 2, 28), date(2025, 8, 31), 6) == SHORT
    assert term(date(2025, 2, 28), date(2025, 9, 1), 6) == LONG
    assert period_end(date(2025, 1, 30), 1) == date(2025, 2, 28)  # Feb 30 does not exist
    assert term(date(2025, 1, 10), date(2030, 1, 10), None) == NONE


@pytest.mark.parametrize("months", [1, 6, 12, 36])
def test_every_day_of_four_years_agrees_with_the_oracle(months: int) -> None:
    days = pd.date_range("2023-01-01", "2026-12-31").date
    for acquired in days:
        nxt = _next_period_start(acquired, months)
        for sold in (nxt - timedelta(days=1), nxt):
            assert (term(acquired, sold, months) == LONG) is _oracle_long(acquired, sold, months), (
                acquired,
                sold,
            )


@pytest.mark.parametrize(
    "sold", [date(2024, 2, 29), date(2024, 3, 1), date(2025, 2, 28), date(2025, 3, 1), date(2026, 3, 1)]
)
def test_vector_mask_matches_the_oracle_for_every_lot(sold: date) -> None:
    acquired = pd.date_range("2022-06-01", "2026-03-01").date
    got = long_term_mask(np.array(acquired, dtype="datetime64[D]"), sold)
    want = np.array([_oracle_long(a, sold) for a in acquired])
    assert np.array_equal(got, want)


@pytest.fixture
def lite(sqlite_database: Database) -> Iterator[Database]:
    build_small_book(sqlite_database)
    yield sqlite_database


def test_booking_classes_a_sale_on_the_leap_day_after_a_month_end_buy_as_short(lite: Database) -> None:
    # Bought 2023-02-28 (February's last day): the year runs to 2024-02-29, so a sale that day is
    # short-term and one on 2024-03-01 long-term (a plain "same date next year" says long on 02-29).
    with lite.transaction() as s:
        b = LedgerBooker()
        b.book(s, fill("L1", Side.BUY, "10", "100", date(2023, 2, 28)))
        r1 = b.book(s, fill("S1", Side.SELL, "5", "110", date(2024, 2, 29)))
        r2 = b.book(s, fill("S2", Side.SELL, "5", "110", date(2024, 3, 1)))
    assert [g.term for g in r1.realized] == [SHORT]
    assert [g.term for g in r2.realized] == [LONG]
