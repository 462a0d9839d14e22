"""Brinson-Fachler with Carino linking against a two-segment, two-period example worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from engine.analytics.attribution import AttributionInput, attribute, brinson_fachler, carino_factors
from engine.analytics.errors import AnalyticsError

DATES = pd.DatetimeIndex(["2026-01-02", "2026-01-05"])
SEGS = ["A", "B"]
# Period 1 and 2: portfolio / benchmark weights and returns of segments A and B.
WP = [[0.6, 0.4], [0.3, 0.7]]
WB = [[0.5, 0.5], [0.4, 0.6]]
RP = [[0.10, 0.02], [-0.05, 0.04]]
RB = [[0.08, 0.03], [-0.02, 0.01]]


def _frame(rows: list[list[float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, index=DATES, columns=SEGS)


def _single_currency_input() -> AttributionInput:
    cp = _frame((np.array(WP) * np.array(RP)).tolist())
    cb = _frame((np.array(WB) * np.array(RB)).tolist())
    return AttributionInput(_frame(WP), _frame(WB), cp, cb, cp, cb)


def test_period_one_effects_by_hand() -> None:
    # Rb = 0.5*0.08 + 0.5*0.03 = 0.055; Rp = 0.6*0.10 + 0.4*0.02 = 0.068; active 0.013.
    a, s, i = brinson_fachler(np.array(WP[0]), np.array(WB[0]), np.array(RP[0]), np.array(RB[0]))
    # allocation: (0.6-0.5)(0.08-0.055) = 0.0025; (0.4-0.5)(0.03-0.055) = 0.0025
    assert a == pytest.approx([0.0025, 0.0025], abs=1e-15)
    # selection: 0.5(0.10-0.08) = 0.010; 0.5(0.02-0.03) = -0.005
    assert s == pytest.approx([0.010, -0.005], abs=1e-15)
    # interaction: 0.1*0.02 = 0.002; -0.1*-0.01 = 0.001
    assert i == pytest.approx([0.002, 0.001], abs=1e-15)
    assert a.sum() + s.sum() + i.sum() == pytest.approx(0.068 - 0.055, abs=1e-15)


def test_two_periods_linked_with_carino_sum_to_the_active_return() -> None:
    # Period 2 by hand: Rp = 0.3*-0.05 + 0.7*0.04 = 0.013; Rb = 0.4*-0.02 + 0.6*0.01 = -0.002.
    rp1, rb1, rp2, rb2 = 0.068, 0.055, 0.013, -0.002
    a2 = [(0.3 - 0.4) * (-0.02 - rb2), (0.7 - 0.6) * (0.01 - rb2)]  # 0.0018, 0.0012
    s2 = [0.4 * (-0.05 + 0.02), 0.6 * (0.04 - 0.01)]  # -0.012, 0.018
    i2 = [(0.3 - 0.4) * (-0.05 + 0.02), (0.7 - 0.6) * (0.04 - 0.01)]  # 0.003, 0.003
    a1, s1, i1 = [0.0025, 0.0025], [0.010, -0.005], [0.002, 0.001]
    rp, rb = (1 + rp1) * (1 + rp2) - 1, (1 + rb1) * (1 + rb2) - 1
    big_k = (math.log(1 + rp) - math.log(1 + rb)) / (rp - rb)
    k1 = (math.log(1 + rp1) - math.log(1 + rb1)) / (rp1 - rb1) / big_k
    k2 = (math.log(1 + rp2) - math.log(1 + rb2)) / (rp2 - rb2) / big_k
    assert carino_factors(np.array([rp1, rp2]), np.array([rb1, rb2])) == pytest.approx([k1, k2], rel=1e-12)

    out = attribute(_single_currency_input())
    seg = out.segments
    assert out.portfolio_return == pytest.approx(rp, abs=1e-15)
    assert out.benchmark_return == pytest.approx(rb, abs=1e-15)
    for j, name in enumerate(SEGS):
        assert seg.loc[name, "allocation"] == pytest.approx(k1 * a1[j] + k2 * a2[j], abs=1e-14)
        assert seg.loc[name, "selection"] == pytest.approx(k1 * s1[j] + k2 * s2[j], abs=1e-14)
        assert seg.loc[name, "interaction"] == pytest.approx(k1 * i1[j] + k2 * i2[j], abs=1e-14)
        assert seg.loc[name, "currency"] == 0.0
    assert seg.loc["A", "rp"] == pytest.approx(1.10 * 0.95 - 1, abs=1e-15)
    assert seg.loc["B", "wb"] == pytest.approx(0.55, abs=1e-15)
    # The identity: allocation + selection + interaction (+ currency) = Rp - Rb of the period.
    assert sum(out.totals.values()) == pytest.approx(rp - rb, abs=1e-15)
    assert abs(out.residual) < 1e-15
    # Plain arithmetic sums would not reconcile to the geometric active return: Carino is doing work.
    plain = sum(a1 + a2 + s1 + s2 + i1 + i2)
    assert abs(plain - (rp - rb)) > 1e-4


def test_currency_effect_is_split_from_local_effects() -> None:
    # One day; B is held in a foreign currency whose rate rises 5% against base in the portfolio,
    # the benchmark holds B unhedged too with the same 5%.
    wp, wb = [[0.6, 0.4]], [[0.5, 0.5]]
    rl_p, rl_b = [0.10, 0.02], [0.08, 0.03]
    rb_p = [0.10, 1.02 * 1.05 - 1]
    rb_b = [0.08, 1.03 * 1.05 - 1]
    idx = DATES[:1]

    def f(rows: list[list[float]]) -> pd.DataFrame:
        return pd.DataFrame(rows, index=idx, columns=SEGS)

    x = AttributionInput(
        f(wp),
        f(wb),
        f([[0.6 * rl_p[0], 0.4 * rl_p[1]]]),
        f([[0.5 * rl_b[0], 0.5 * rl_b[1]]]),
        f([[0.6 * rb_p[0], 0.4 * rb_p[1]]]),
        f([[0.5 * rb_b[0], 0.5 * rb_b[1]]]),
    )
    out = attribute(x)
    # Local effects are the period-one numbers worked above; currency: 0.4*0.051 - 0.5*0.0515.
    assert out.totals["allocation"] == pytest.approx(0.005, abs=1e-15)
    assert out.totals["selection"] == pytest.approx(0.005, abs=1e-15)
    assert out.totals["interaction"] == pytest.approx(0.003, abs=1e-15)
    assert out.segments.loc["B", "currency"] == pytest.approx(0.4 * 0.051 - 0.5 * 0.0515, abs=1e-15)
    assert out.totals["currency"] == pytest.approx(0.4 * 0.051 - 0.5 * 0.0515, abs=1e-15)
    assert sum(out.totals.values()) == pytest.approx(out.active_return, abs=1e-15)


def test_weights_must_sum_to_one() -> None:
    x = _single_currency_input()
    bad = AttributionInput(x.wp * 0.9, x.wb, x.cp_local, x.cb_local, x.cp_base, x.cb_base)
    with pytest.raises(AnalyticsError, match="portfolio weights on 2026-01-02"):
        attribute(bad)


def test_combine_two_accounts_by_value_in_a_report_currency() -> None:
    """Household: account 1 (value 100, no FX move), account 2 (value 300, its base up 10%)."""
    from engine.analytics.attribution import combine

    idx = DATES[:1]

    def f(rows: list[list[float]]) -> pd.DataFrame:
        return pd.DataFrame(rows, index=idx, columns=SEGS)

    a1 = AttributionInput(f([[0.6, 0.4]]), f([[0.5, 0.5]]), f([[0.06, 0.008]]), f([[0.04, 0.015]]),
                          f([[0.06, 0.008]]), f([[0.04, 0.015]]))  # fmt: skip
    a2 = AttributionInput(f([[0.3, 0.7]]), f([[0.4, 0.6]]), f([[-0.015, 0.028]]), f([[-0.008, 0.006]]),
                          f([[-0.015, 0.028]]), f([[-0.008, 0.006]]))  # fmt: skip
    h = combine([a1, a2], [np.array([100.0]), np.array([300.0])], [np.array([0.0]), np.array([0.10])])
    # Weights: 0.25 * a1 + 0.75 * a2.
    assert h.wp.iloc[0].tolist() == pytest.approx([0.25 * 0.6 + 0.75 * 0.3, 0.25 * 0.4 + 0.75 * 0.7])
    assert h.wb.iloc[0].tolist() == pytest.approx([0.25 * 0.5 + 0.75 * 0.4, 0.25 * 0.5 + 0.75 * 0.6])
    # Account 1 returns 6.8%, account 2 1.3% in its base, (1.013)(1.10) - 1 = 11.43% in the report currency.
    rp = 0.25 * 0.068 + 0.75 * (1.013 * 1.10 - 1)
    rb = 0.25 * 0.055 + 0.75 * (0.998 * 1.10 - 1)
    out = attribute(h)
    assert out.portfolio_return == pytest.approx(rp, abs=1e-15)
    assert out.benchmark_return == pytest.approx(rb, abs=1e-15)
    assert sum(out.totals.values()) == pytest.approx(rp - rb, abs=1e-15)
    # Local effects ignore the FX move; it is all in the currency effect: 0.75 * 0.10 * (1.013 - 0.998).
    assert out.totals["currency"] == pytest.approx(0.75 * 0.10 * (1.013 - 0.998), abs=1e-15)


def test_cash_the_benchmark_does_not_hold_is_cash_drag_in_allocation() -> None:
    # Portfolio 90% A (+10%), 10% cash (0%); benchmark 100% A (+10%). Rb = 0.10, Rp = 0.09.
    idx = DATES[:1]
    cols = ["A", "cash"]

    def f(row: list[float]) -> pd.DataFrame:
        return pd.DataFrame([row], index=idx, columns=cols)

    base = (f([0.9, 0.1]), f([1.0, 0.0]), f([0.09, 0.0]), f([0.10, 0.0]), f([0.09, 0.0]), f([0.10, 0.0]))
    drag = attribute(AttributionInput(*base, rb_empty={"cash": 0.0}))
    # cash: (0.1 - 0)(0 - 0.10) = -0.01 allocation; A: (0.9 - 1.0)(0.10 - 0.10) = 0.
    assert drag.segments.loc["cash", "allocation"] == pytest.approx(-0.01, abs=1e-15)
    assert drag.segments.loc["cash", "interaction"] == pytest.approx(0.0, abs=1e-15)
    assert drag.totals["allocation"] == pytest.approx(-0.01, abs=1e-15)
    # Without a known return the empty benchmark segment takes Rb: no allocation, all interaction.
    plain = attribute(AttributionInput(*base))
    assert plain.segments.loc["cash", "allocation"] == pytest.approx(0.0, abs=1e-15)
    assert plain.segments.loc["cash", "interaction"] == pytest.approx(0.1 * (0.0 - 0.10), abs=1e-15)
