"""Aggregates of accounts: one household's return from its summed values and flows, and a GIPS-style
composite of accounts on a model (asset-weighted by beginning values, with dispersion).

Conventions as elsewhere in engine.analytics: `values` end-of-day market values, `flows` external
flows (positive = money in) at the end of their day, all in ONE currency (convert before calling).
Periodic returns link daily sub-period returns within each calendar period (time-weighted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.analytics.errors import AnalyticsError

MIN_ACCOUNTS_FOR_DISPERSION = 6
"""GIPS: with five or fewer portfolios in the composite for the full year, dispersion is not
statistically meaningful and is not shown."""


def daily_subperiod_returns(values: pd.Series, flows: pd.Series) -> pd.Series:
    """r_t = (V_t - F_t) / V_{t-1} - 1 on each day after the first; a day that starts and ends at
    zero returns 0 (nothing invested); a zero or negative start otherwise is an error naming it."""
    v = values.to_numpy(dtype=float)
    f = flows.reindex(values.index, fill_value=0.0).to_numpy(dtype=float)
    num, den = v[1:] - f[1:], v[:-1]
    idle = (den == 0) & (num == 0)
    bad = (den <= 0) & ~idle
    if bad.any():
        i = int(np.argmax(bad)) + 1
        raise AnalyticsError(
            f"return undefined on {values.index[i]:%Y-%m-%d}: the day starts from {den[i - 1]:g}"
        )
    r = np.where(idle, 0.0, num / np.where(idle, 1.0, den) - 1.0)
    return pd.Series(r, index=values.index[1:])


def periodic_returns(values: pd.Series, flows: pd.Series, freq: str = "M") -> pd.Series:
    """Time-weighted return of each calendar period (`M` month, `Q` quarter, `Y` year) covered by
    the series, linking its daily sub-period returns; indexed by the period."""
    daily = daily_subperiod_returns(values, flows)
    if daily.empty:
        return pd.Series(dtype=float)
    periods = daily.index.to_period(freq)
    return (1.0 + daily).groupby(periods).prod() - 1.0


def link(returns: pd.Series) -> float:
    """Geometric link of periodic returns: prod(1 + r) - 1."""
    return float(np.prod(1.0 + returns.to_numpy(dtype=float)) - 1.0)


def asset_weighted(returns: pd.DataFrame, begin_values: pd.DataFrame) -> pd.Series:
    """Composite return per period (rows) over accounts (columns): each account's return weighted
    by its value at the start of the period among the accounts that have a return for it."""
    r = returns.to_numpy(dtype=float)
    w = begin_values.reindex_like(returns).to_numpy(dtype=float)
    present = ~np.isnan(r) & ~np.isnan(w) & (w > 0)
    wsum = np.where(present, w, 0.0).sum(axis=1)
    total = np.where(present, w * np.nan_to_num(r), 0.0).sum(axis=1)
    out = np.where(wsum > 0, total / np.where(wsum > 0, wsum, 1.0), np.nan)
    return pd.Series(out, index=returns.index)


@dataclass(frozen=True)
class Dispersion:
    """Spread of the accounts' returns over one period around the composite's."""

    accounts: int
    asset_weighted_std: float | None
    equal_weighted_std: float | None
    high: float | None
    low: float | None
    note: str | None


def dispersion(returns: pd.Series, weights: pd.Series) -> Dispersion:
    """Asset-weighted standard deviation sqrt(sum w_i (R_i - R_c)^2) with R_c = sum w_i R_i, the
    equal-weighted (sample, n - 1) standard deviation, high and low, of accounts present for the
    whole period; None with a note below MIN_ACCOUNTS_FOR_DISPERSION accounts (GIPS)."""
    r = returns.dropna()
    w = weights.reindex(r.index).fillna(0.0)
    n = len(r)
    if n == 0:
        return Dispersion(0, None, None, None, None, "no account for the whole period")
    high, low = float(r.max()), float(r.min())
    if n < MIN_ACCOUNTS_FOR_DISPERSION:
        note = f"{n} account(s) for the whole period: dispersion is not meaningful below {MIN_ACCOUNTS_FOR_DISPERSION}"
        return Dispersion(n, None, None, high, low, note)
    ws = w.to_numpy(dtype=float)
    if ws.sum() <= 0:
        raise AnalyticsError("dispersion needs positive beginning values")
    ws = ws / ws.sum()
    x = r.to_numpy(dtype=float)
    rc = float(ws @ x)
    return Dispersion(
        n,
        math.sqrt(float(ws @ (x - rc) ** 2)),
        float(np.std(x, ddof=1)),
        high,
        low,
        None,
    )
