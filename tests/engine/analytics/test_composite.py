"""Household and composite arithmetic against numbers worked by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from engine.analytics import AnalyticsError
from engine.analytics.composite import (
    asset_weighted,
    daily_subperiod_returns,
    dispersion,
    link,
    periodic_returns,
)


def test_a_household_is_its_accounts_summed() -> None:
    days = pd.to_datetime(["2026-01-30", "2026-02-02", "2026-02-03"])
    a = pd.Series([100.0, 110.0, 121.0], index=days)
    b = pd.Series([200.0, 240.0, 228.0], index=days)  # 50 deposited on Feb 2: (240 - 50) / 200 = -5%
    fb = pd.Series([0.0, 50.0, 0.0], index=days)
    hh = daily_subperiod_returns(a + b, fb)
    # Day 1: (350 - 50) / 300 - 1 = 0; day 2: 349 / 350 - 1.
    assert hh.tolist() == pytest.approx([0.0, 349 / 350 - 1])
    assert link(hh) == pytest.approx(349 / 350 - 1)
    by_month = periodic_returns(a + b, fb, "M")
    assert [str(p) for p in by_month.index] == ["2026-02"]


def test_periodic_returns_link_within_each_month() -> None:
    days = pd.to_datetime(["2026-01-30", "2026-01-31", "2026-02-01", "2026-02-02"])
    v = pd.Series([100.0, 102.0, 99.96, 104.958], index=days)
    r = periodic_returns(v, pd.Series(dtype=float), "M")
    assert r["2026-01"] == pytest.approx(0.02)
    assert r["2026-02"] == pytest.approx(0.98 * 1.05 - 1)  # -2% then +5%
    assert link(r) == pytest.approx(104.958 / 100 - 1)


def test_asset_weighted_by_beginning_values_among_accounts_present() -> None:
    periods = pd.PeriodIndex(["2026-01", "2026-02"], freq="M")
    r = pd.DataFrame({"A": [0.10, 0.02], "B": [-0.05, float("nan")], "C": [0.00, 0.04]}, index=periods)
    b = pd.DataFrame({"A": [100.0, 110.0], "B": [300.0, float("nan")], "C": [100.0, 90.0]}, index=periods)
    comp = asset_weighted(r, b)
    assert comp.iloc[0] == pytest.approx((100 * 0.10 + 300 * -0.05 + 0) / 500)  # -1%
    assert comp.iloc[1] == pytest.approx((110 * 0.02 + 90 * 0.04) / 200)  # B absent


def test_dispersion_gips_style() -> None:
    r = pd.Series({"A": 0.10, "B": 0.08, "C": 0.12, "D": 0.05, "E": 0.07, "F": 0.09})
    w = pd.Series({"A": 1.0, "B": 1.0, "C": 2.0, "D": 1.0, "E": 3.0, "F": 2.0})
    d = dispersion(r, w)
    ws = w / w.sum()
    rc = float((ws * r).sum())
    assert rc == pytest.approx((0.10 + 0.08 + 0.24 + 0.05 + 0.21 + 0.18) / 10)
    assert d.asset_weighted_std == pytest.approx(math.sqrt(float((ws * (r - rc) ** 2).sum())))
    mean = r.mean()
    assert d.equal_weighted_std == pytest.approx(math.sqrt(float(((r - mean) ** 2).sum()) / 5))
    assert (d.high, d.low, d.accounts, d.note) == (0.12, 0.05, 6, None)
    few = dispersion(r.iloc[:5], w.iloc[:5])
    assert (
        few.asset_weighted_std is None and few.high == 0.12 and "not meaningful below 6" in (few.note or "")
    )


def test_a_day_starting_from_nothing_but_ending_with_value_is_refused() -> None:
    days = pd.to_datetime(["2026-01-30", "2026-02-02"])
    with pytest.raises(AnalyticsError, match="2026-02-02"):
        daily_subperiod_returns(pd.Series([0.0, 10.0], index=days), pd.Series(dtype=float))
