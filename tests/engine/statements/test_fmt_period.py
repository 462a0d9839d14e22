"""Quarters and their windows; numbers and dates in the client's locale (CLDR via Babel)."""

from __future__ import annotations

from datetime import date

import pytest

from engine.errors import WorkstationError
from engine.statements.fmt import Formatter, locale_for
from engine.statements.period import parse_period


def test_quarters_and_windows() -> None:
    q = parse_period("2026q4")
    assert (q.label, q.first, q.last, q.opening) == (
        "2026Q4",
        date(2026, 10, 1),
        date(2026, 12, 31),
        date(2026, 9, 30),
    )
    assert parse_period("2024Q1").last == date(2024, 3, 31)
    assert parse_period("2026Q3").windows() == [
        ("quarter", date(2026, 6, 30)), ("ytd", date(2025, 12, 31)), ("1y", date(2025, 9, 30)),
    ]  # fmt: skip
    for bad in ("2026Q5", "2026-09", "Q3", ""):
        with pytest.raises(WorkstationError, match="expected a quarter such as 2026Q3"):
            parse_period(bad)


def test_locale_numbers_money_minor_units_and_dates() -> None:
    assert [locale_for(c) for c in ("US", "DE", "CH", "JP", "GB")] == [
        "en_US",
        "de_DE",
        "de_CH",
        "ja_JP",
        "en_GB",
    ]
    assert locale_for("US", "de-DE") == "de_DE"
    with pytest.raises(WorkstationError, match="not a locale"):
        locale_for("US", "xx_YY_ZZ")
    de, us = Formatter("de_DE", "EUR"), Formatter("en_US", "USD")
    assert (de.money(1234567.891), us.money(1234567.891)) == ("1.234.567,89", "1,234,567.89")
    assert Formatter("ja_JP", "JPY").money(1234567.5) == "1,234,568"  # no minor unit, half-even
    assert Formatter("en_US", "KWD").money(1.2345) == "1.234"  # three, half-even
    assert Formatter("de_CH", "CHF").money(-1234.5) == "-1'234.50"
    assert Formatter("fr_FR", "EUR").money(1234.5) == "1\u00a0234,50"  # the narrow space the base fonts lack
    assert (de.money(-0.001), de.percent(0.062345), de.percent(None)) == ("0,00", "6,23 %", "n/a")
    assert (de.quantity(1200), de.quantity(12.5), de.price(28.8)) == ("1.200", "12,5", "28,80")
    assert (de.date(date(2026, 9, 30)), us.date(date(2026, 9, 30))) == ("30.09.2026", "Sep 30, 2026")
