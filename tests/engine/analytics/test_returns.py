"""TWR, MWR and Modified Dietz: a published worked example, closed forms, and edge cases."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from engine.analytics import (
    AnalyticsError,
    MissingValueError,
    modified_dietz,
    money_weighted_return,
    time_weighted_return,
)


def s(d: dict[str, float]) -> pd.Series:
    return pd.Series(list(d.values()), index=pd.to_datetime(list(d)))


# CFA Institute, CFA Program Level I, Quantitative Methods, "Money-Weighted and Time-Weighted
# Rates of Return" (worked example): buy one share at $200 at t=0, buy a second at $225 at t=1,
# a $5 dividend per share at the end of each year, both shares sold at $235 at t=2.
# Published answers: money-weighted return 9.39%, time-weighted return 10.76% a year.
# As a portfolio: V0 = 200; at t=1 net flow in 225 - 5 = 220 and value 2 x 225 = 450;
# at t=2 value 2 x 235 + 2 x 5 = 480. Dates are 365 days apart so ACT/365 years are whole.
CFA_VALUES = s({"2021-01-01": 200.0, "2022-01-01": 450.0, "2023-01-01": 480.0})
CFA_FLOWS = s({"2022-01-01": 220.0})


def test_cfa_time_weighted_example() -> None:
    twr = time_weighted_return(CFA_VALUES, CFA_FLOWS)
    assert twr == pytest.approx(1.15 * (480 / 450) - 1, abs=1e-12)
    # The published 10.76% links the rounded sub-period returns (15% and 6.67%); exact is 10.755%.
    assert math.sqrt(1 + twr) - 1 == pytest.approx(0.1076, abs=1e-4)


def test_cfa_money_weighted_example() -> None:
    assert money_weighted_return(CFA_VALUES, CFA_FLOWS) == pytest.approx(0.0939, abs=5e-5)


def test_modified_dietz_by_the_gips_formula() -> None:
    # Hand computation with the GIPS formula on the same flows: (480 - 200 - 220) / (200 + 0.5 x 220).
    assert modified_dietz(CFA_VALUES, CFA_FLOWS) == pytest.approx(60 / 310, abs=1e-12)


def test_start_of_day_flow_timing() -> None:
    v = s({"2026-01-01": 100.0, "2026-01-02": 160.0})
    f = s({"2026-01-02": 50.0})
    assert time_weighted_return(v, f, flow_timing="start") == pytest.approx(160 / 150 - 1)
    assert time_weighted_return(v, f) == pytest.approx(110 / 100 - 1)


def test_mwr_without_flows_is_the_annualized_growth() -> None:
    v = s({"2024-03-01": 100.0, "2024-09-17": 93.0, "2025-07-11": 121.0})
    years = (pd.Timestamp("2025-07-11") - pd.Timestamp("2024-03-01")).days / 365
    assert money_weighted_return(v) == pytest.approx(1.21 ** (1 / years) - 1, rel=1e-10)


def test_mwr_root_satisfies_the_defining_equation() -> None:
    v = s({"2025-01-01": 1000.0, "2025-02-10": 700.0, "2025-06-30": 2100.0, "2025-12-31": 2000.0})
    f = s({"2025-02-10": -400.0, "2025-06-30": 1200.0, "2025-12-31": -50.0})
    r = money_weighted_return(v, f)
    t = (v.index - v.index[0]).days.to_numpy()
    total = t[-1]
    fv = 1000.0 * (1 + r) ** (total / 365) + sum(
        amt * (1 + r) ** ((total - d) / 365) for d, amt in zip(t[1:], [-400.0, 1200.0, -50.0])
    )
    assert fv == pytest.approx(2000.0, rel=1e-9)


def test_flows_on_first_and_last_day() -> None:
    v = s({"2026-01-01": 100.0, "2026-01-02": 110.0, "2026-01-03": 170.0})
    first = s({"2026-01-01": 100.0})  # inside V0: ignored
    assert time_weighted_return(v, first) == pytest.approx(0.7)
    assert modified_dietz(v, first) == pytest.approx(0.7)
    last = s({"2026-01-03": 50.0})  # end of the last day: weight 0 in Modified Dietz
    assert time_weighted_return(v, last) == pytest.approx(1.1 * (120 / 110) - 1)
    assert modified_dietz(v, last) == pytest.approx((170 - 100 - 50) / 100)


def test_single_day_and_zero_or_negative_start() -> None:
    one = s({"2026-01-01": 100.0})
    assert time_weighted_return(one) == 0.0
    with pytest.raises(AnalyticsError, match="at least 2"):
        modified_dietz(one)
    with pytest.raises(AnalyticsError, match="at least 2"):
        money_weighted_return(one)
    # Zero start, funded at the start of day 2: defined with start-of-day timing.
    z = s({"2026-01-01": 0.0, "2026-01-02": 105.0})
    assert time_weighted_return(z, s({"2026-01-02": 100.0}), flow_timing="start") == pytest.approx(0.05)
    with pytest.raises(AnalyticsError, match="2026-01-02"):
        time_weighted_return(z, s({"2026-01-02": 100.0}))
    neg = s({"2026-01-01": -10.0, "2026-01-02": 5.0})
    with pytest.raises(AnalyticsError, match="zero or negative"):
        time_weighted_return(neg)
    with pytest.raises(AnalyticsError, match="zero or negative"):
        modified_dietz(neg)


def test_no_rate_exists() -> None:
    # 100 in, then 100 more in, and nothing left: no rate above -100% gets there.
    v = s({"2025-01-01": 100.0, "2025-06-01": 0.0})
    with pytest.raises(AnalyticsError, match="no rate"):
        money_weighted_return(v, s({"2025-06-01": 100.0}))


def test_missing_values_name_the_date() -> None:
    v = s({"2026-01-01": 100.0, "2026-01-02": float("nan"), "2026-01-05": 101.0})
    for fn in (time_weighted_return, modified_dietz, money_weighted_return):
        with pytest.raises(MissingValueError, match="2026-01-02"):
            fn(v)
    with pytest.raises(AnalyticsError, match="no value"):
        time_weighted_return(CFA_VALUES, s({"2021-06-01": 5.0}))


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(1.0, 1e6), min_size=2, max_size=40), st.integers(1, 5))
def test_without_flows_all_three_agree_with_the_value_ratio(vals: list[float], step: int) -> None:
    idx = pd.date_range("2025-01-01", periods=len(vals), freq=f"{step}D")
    v = pd.Series(vals, index=idx)
    ratio = vals[-1] / vals[0] - 1
    assert time_weighted_return(v) == pytest.approx(ratio, rel=1e-9, abs=1e-9)
    assert modified_dietz(v) == pytest.approx(ratio, rel=1e-9, abs=1e-12)
    years = (idx[-1] - idx[0]).days / 365
    log_rate = math.log(vals[-1] / vals[0]) / years  # log(1 + r)
    if abs(log_rate) < 9.0:  # inside the solver's bracket (-99.99% to +1e6% a year)
        assert money_weighted_return(v) == pytest.approx(math.expm1(log_rate), rel=1e-6, abs=1e-9)
    else:
        with pytest.raises(AnalyticsError, match="no rate"):
            money_weighted_return(v)
