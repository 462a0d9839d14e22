"""Cell formats: a missing value (None, NaN, pandas' NaT) is a blank cell, never an exception
raised inside the Qt paint loop; present values keep separators, minor units and zones."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from widgets.formatting import fmt_datetime, format_value, set_display_zone


@pytest.mark.parametrize("kind", ["money", "qty", "price", "pct", "drift", "date", "datetime", "rate"])
@pytest.mark.parametrize("missing", [None, float("nan"), pd.NaT])
def test_a_missing_value_is_a_blank_cell(kind: str, missing: object) -> None:
    assert format_value(kind, missing, "USD") == ""


def test_present_values_keep_their_units_and_zone() -> None:
    assert format_value("money", 1234567.891, "USD") == "1,234,567.89 USD"
    assert format_value("money", 1234567.891, "JPY") == "1,234,568 JPY"
    set_display_zone(ZoneInfo("America/New_York"))
    try:
        at = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
        assert fmt_datetime(at) == "2026-11-20 09:30:00 EST"
        assert fmt_datetime(pd.Timestamp(at)) == "2026-11-20 09:30:00 EST"
    finally:
        set_display_zone(None)


def test_minor_units_and_plain_quantities() -> None:
    """ISO 4217 minor units (JPY 0, KWD 3, BHD 3), no exponent notation, no negative zero."""
    assert format_value("money", 1234.5678, "KWD") == "1,234.568 KWD"
    assert format_value("money", 99.9995, "BHD") == "100.000 BHD"
    assert format_value("money", 2.675, "USD") == "2.68 USD"  # half-even on the decimal 2.675
    assert format_value("money", -0.004, "USD") == "0.00 USD"
    assert format_value("qty", 1e6) == "1,000,000"
    assert format_value("qty", 2.5e7) == "25,000,000"
    assert format_value("qty", 0.000125) == "0.000125"
    assert format_value("qty", 12.5) == "12.5"
