"""Risk and risk-adjusted measures on periodic returns (volatility, drawdown, beta, VaR, ratios).

Conventions: `returns` is a pd.Series of simple periodic returns indexed by date; annualizing
uses `periods_per_year` (252 by default); standard deviations are sample (ddof=1). VaR and
expected shortfall are positive fractions of value lost; a horizon scales the one-period figure
by the square root of time. Missing values raise MissingValueError naming the first missing date.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from statistics import NormalDist

import numpy as np
import pandas as pd

from engine.analytics.errors import AnalyticsError
from engine.analytics.inputs import aligned, series


def _check_conf(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise AnalyticsError(f"confidence must be between 0 and 1, got {confidence}")


def _check_horizon(horizon_days: float) -> None:
    if horizon_days <= 0:
        raise AnalyticsError(f"horizon_days must be positive, got {horizon_days}")


def annualized_volatility(returns: pd.Series, periods_per_year: int = 252) -> float:
    """Sample standard deviation (ddof=1) of the returns times sqrt(periods_per_year)."""
    r = series(returns, "returns", min_len=2).to_numpy()
    return float(np.std(r, ddof=1) * math.sqrt(periods_per_year))


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The largest peak-to-trough fall: depth as a negative fraction (0.0 if none), and its dates."""

    depth: float
    peak: date
    trough: date


def _as_date(x: object) -> date:
    return pd.Timestamp(x).date()


def max_drawdown(values: pd.Series) -> Drawdown:
    """Max drawdown of end-of-day values: min over t of V_t / max(V_0..V_t) - 1 (negative fraction).

    Values must be positive. With no fall at all, depth is 0.0 and peak = trough = the first date.
    """
    v = series(values, "values")
    x = v.to_numpy()
    if (x <= 0).any():
        i = int(np.argmax(x <= 0))
        raise AnalyticsError(f"max drawdown needs positive values; {x[i]:g} on {_as_date(v.index[i])}")
    peak = np.maximum.accumulate(x)
    dd = x / peak - 1.0
    t = int(np.argmin(dd))
    if dd[t] >= 0:
        return Drawdown(0.0, _as_date(v.index[0]), _as_date(v.index[0]))
    p = int(np.argmax(x[: t + 1]))
    return Drawdown(float(dd[t]), _as_date(v.index[p]), _as_date(v.index[t]))


def beta(returns: pd.Series, benchmark_returns: pd.Series) -> float:
    """cov(r, b) / var(b), both ddof=1, over the dates both series have."""
    r, b = aligned(returns, benchmark_returns, ("returns", "benchmark_returns"))
    var = float(np.var(b, ddof=1))
    if var == 0:
        raise AnalyticsError("beta undefined: the benchmark returns do not vary")
    return float(np.cov(r, b, ddof=1)[0, 1] / var)


def tracking_error(returns: pd.Series, benchmark_returns: pd.Series, periods_per_year: int = 252) -> float:
    """Sample standard deviation (ddof=1) of active returns r - b (shared dates), annualized by sqrt(ppy)."""
    r, b = aligned(returns, benchmark_returns, ("returns", "benchmark_returns"))
    return float(np.std(r - b, ddof=1) * math.sqrt(periods_per_year))


def information_ratio(returns: pd.Series, benchmark_returns: pd.Series, periods_per_year: int = 252) -> float:
    """Annualized mean active return (mean(r - b) x ppy) over the tracking error."""
    r, b = aligned(returns, benchmark_returns, ("returns", "benchmark_returns"))
    te = float(np.std(r - b, ddof=1) * math.sqrt(periods_per_year))
    if te == 0:
        raise AnalyticsError("information ratio undefined: tracking error is zero")
    return float(np.mean(r - b) * periods_per_year / te)


def tail_quantile(r: np.ndarray, confidence: float) -> float:
    """The (1 - confidence) empirical quantile of `r` (linear interpolation, Hyndman-Fan type 7,
    numpy's default) with the position h = (n - 1)(1 - confidence) computed in exact rationals of
    the confidence as written: 1 - 0.9 is 1/10 here, not 0.09999999999999998, so when h is a whole
    number the quantile is exactly that order statistic and the tail takes every return equal to it."""
    x = np.sort(r)
    h = (len(x) - 1) * (1 - Fraction(str(float(confidence))))
    k = math.floor(h)
    frac = h - k
    if frac == 0:
        return float(x[k])
    return float(x[k] + float(frac) * (x[k + 1] - x[k]))


def historical_var(returns: pd.Series, confidence: float = 0.99, horizon_days: float = 1) -> float:
    """-(the (1 - confidence) empirical quantile of returns, `tail_quantile`) x sqrt(horizon)."""
    _check_conf(confidence)
    _check_horizon(horizon_days)
    r = series(returns, "returns", min_len=2).to_numpy()
    return float(-tail_quantile(r, confidence) * math.sqrt(horizon_days))


def parametric_var(returns: pd.Series, confidence: float = 0.99, horizon_days: float = 1) -> float:
    """Normal VaR with the mean: -(mean + z_(1-confidence) x sd(ddof=1)) x sqrt(horizon)."""
    _check_conf(confidence)
    _check_horizon(horizon_days)
    r = series(returns, "returns", min_len=2).to_numpy()
    mu, sd = float(np.mean(r)), float(np.std(r, ddof=1))
    return float(-(mu + NormalDist().inv_cdf(1.0 - confidence) * sd) * math.sqrt(horizon_days))


def expected_shortfall(returns: pd.Series, confidence: float = 0.99) -> float:
    """Minus the mean of the returns at or below the (1 - confidence) empirical quantile
    (`tail_quantile`, exact when (n - 1)(1 - confidence) is whole), one period."""
    _check_conf(confidence)
    r = series(returns, "returns", min_len=2).to_numpy()
    q = tail_quantile(r, confidence)
    return float(-np.mean(r[r <= q]))


def sharpe_ratio(returns: pd.Series, risk_free: float = 0.0, periods_per_year: int = 252) -> float:
    """mean(r - rf) / sd(r - rf, ddof=1) x sqrt(ppy); `risk_free` is a per-period rate."""
    x = series(returns, "returns", min_len=2).to_numpy() - risk_free
    sd = float(np.std(x, ddof=1))
    if sd == 0:
        raise AnalyticsError("Sharpe ratio undefined: excess returns do not vary")
    return float(np.mean(x) / sd * math.sqrt(periods_per_year))


def sortino_ratio(returns: pd.Series, target: float = 0.0, periods_per_year: int = 252) -> float:
    """mean(r - target) / downside deviation x sqrt(ppy); downside deviation = sqrt(mean(min(r - target, 0)^2)) over all periods."""
    x = series(returns, "returns", min_len=2).to_numpy() - target
    dd = float(np.sqrt(np.mean(np.minimum(x, 0.0) ** 2)))
    if dd == 0:
        raise AnalyticsError("Sortino ratio undefined: no period falls below the target")
    return float(np.mean(x) / dd * math.sqrt(periods_per_year))
