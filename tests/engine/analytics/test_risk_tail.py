"""VaR and expected shortfall choose their tail exactly when (n - 1)(1 - confidence) is whole.

In floating point 1 - 0.9 is 0.09999999999999998, so (11 - 1)(1 - 0.9) falls just short of 1 and
the old quantile sat a hair below the second-worst return, leaving it out of the tail. The
expectations here are hand-computed order statistics and numpy.quantile at the exact decimal
probability (0.1, 0.05, 0.01), whose products with n - 1 are whole in floating point.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.analytics import expected_shortfall, historical_var


def _shuffled(values: list[float], seed: int) -> pd.Series:
    """The returns in a random order on business days (the measures must not depend on order)."""
    rng = np.random.default_rng(seed)
    xs = rng.permutation(np.array(values))
    return pd.Series(xs, index=pd.bdate_range("2026-01-05", periods=len(xs)))


@pytest.mark.parametrize(
    ("confidence", "n", "k"),
    [(0.9, 11, 1), (0.9, 21, 2), (0.95, 21, 1), (0.95, 41, 2), (0.99, 101, 1), (0.99, 201, 2)],
)
def test_whole_position_takes_exactly_that_order_statistic(confidence: float, n: int, k: int) -> None:
    # Returns -0.5, -(n-1)/1000, ..., -1/1000 in some order (a wide gap below, so a position a
    # hair short of k lands visibly below the k-th worst): the k-th worst (0-based) is -(n - k)/1000.
    worst = [-0.5] + [-(n - i) / 1000 for i in range(1, n)]
    r = _shuffled(worst, seed=n)
    q = worst[k]  # the order statistic at position (n - 1)(1 - c) = k, by hand
    assert historical_var(r, confidence) == -q
    assert historical_var(r, confidence) == -float(np.quantile(r.to_numpy(), round(1 - confidence, 10)))
    tail = worst[: k + 1]  # every return at or below it: k + 1 of them, the k-th included
    assert expected_shortfall(r, confidence) == pytest.approx(-sum(tail) / len(tail), rel=1e-15)
    assert historical_var(r, confidence, horizon_days=4) == pytest.approx(-q * 2, rel=1e-15)


def test_hand_example_at_ninety_percent() -> None:
    r = _shuffled([-0.05, -0.03, -0.02, -0.01, 0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06], seed=7)
    assert historical_var(r, 0.9) == 0.03
    assert expected_shortfall(r, 0.9) == pytest.approx(0.04, rel=1e-15)  # mean of 5% and 3% losses


def test_ties_at_the_quantile_are_all_in_the_tail() -> None:
    r = _shuffled([-0.04, -0.02, -0.02, -0.02] + [0.01 * i for i in range(7)], seed=3)
    assert historical_var(r, 0.9) == 0.02
    assert expected_shortfall(r, 0.9) == pytest.approx((0.04 + 0.06) / 4, rel=1e-15)


@pytest.mark.parametrize(("confidence", "n"), [(0.9, 12), (0.95, 30), (0.99, 150), (0.975, 77)])
def test_between_order_statistics_interpolates_like_numpy(confidence: float, n: int) -> None:
    rng = np.random.default_rng(n)
    r = pd.Series(rng.normal(0.0, 0.01, n), index=pd.bdate_range("2026-01-05", periods=n))
    x = r.to_numpy()
    q = float(np.quantile(x, 1 - confidence))
    assert historical_var(r, confidence) == pytest.approx(-q, rel=1e-12)
    tail = x[x <= q]
    assert expected_shortfall(r, confidence) == pytest.approx(-tail.mean(), rel=1e-12)
