"""Portfolio returns with external flows: time-weighted (GIPS), money-weighted (IRR), Modified Dietz.

Conventions: `values` is a pd.Series of end-of-day market values indexed by date; `flows` a
pd.Series of external flows on some of those dates (positive = money in). A flow dated on the
first date is already inside the first value and is ignored by all three measures. Calendar time
is ACT/365. Missing values raise MissingValueError naming the first missing date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.analytics.errors import AnalyticsError
from engine.analytics.inputs import _label, days_between, flows_on, series


def time_weighted_return(
    values: pd.Series, flows: pd.Series | None = None, flow_timing: str = "end"
) -> float:
    """Geometrically linked daily sub-period returns over the whole series; not annualized.

    End-of-day flows: r_t = (V_t - F_t) / V_{t-1} - 1. Start-of-day flows (flow_timing="start"):
    r_t = V_t / (V_{t-1} + F_t) - 1. A sub-period that starts from a zero value and ends at zero
    (nothing invested) returns 0; a zero or negative denominator otherwise is an error naming
    the date. One value alone gives 0.0 (no time has passed).
    """
    if flow_timing not in ("end", "start"):
        raise AnalyticsError(f"flow_timing must be 'end' or 'start', got {flow_timing!r}")
    v = series(values, "values")
    f = flows_on(v, flows).to_numpy()
    x = v.to_numpy()
    if len(x) == 1:
        return 0.0
    if flow_timing == "end":
        num, den = x[1:] - f[1:], x[:-1]
    else:
        num, den = x[1:], x[:-1] + f[1:]
    idle = (den == 0) & (num == 0)
    bad = (den <= 0) & ~idle
    if bad.any():
        i = int(np.argmax(bad)) + 1
        raise AnalyticsError(
            f"time-weighted return undefined: the sub-period ending {_label(v.index[i])} "
            f"starts from a value of {den[i - 1]:g} (zero or negative)"
        )
    r = np.where(idle, 0.0, num / np.where(idle, 1.0, den)) - np.where(idle, 0.0, 1.0)
    return float(np.prod(1.0 + r) - 1.0)


def modified_dietz(values: pd.Series, flows: pd.Series | None = None) -> float:
    """(V_T - V_0 - sum F) / (V_0 + sum w_i F_i), w_i = (T - d_i) / T in calendar days.

    d_i is the number of days from the first date to the flow's date; T the days from the first
    to the last date. Not annualized. Flows on the first date are inside V_0 and ignored.
    """
    v = series(values, "values", min_len=2)
    f = flows_on(v, flows).to_numpy().copy()
    f[0] = 0.0
    d = days_between(v.index)
    total = d[-1]
    if total <= 0:
        raise AnalyticsError("Modified Dietz needs two different dates")
    w = (total - d) / total
    v0, vt = float(v.iloc[0]), float(v.iloc[-1])
    den = v0 + float(np.dot(w, f))
    if den <= 0:
        raise AnalyticsError(f"Modified Dietz undefined: average capital is {den:g} (zero or negative)")
    return (vt - v0 - float(f.sum())) / den


def money_weighted_return(values: pd.Series, flows: pd.Series | None = None) -> float:
    """Annualized internal rate r (ACT/365): V_0 (1+r)^(T/365) + sum F_i (1+r)^((T-d_i)/365) = V_T.

    Solved by bracketing (Brent's method between points where the equation changes sign, the
    root nearest zero first), never a Newton step that can diverge. Raises AnalyticsError where
    no rate exists (e.g. money in, nothing back, and a positive end value that cannot be reached).
    Flows on the first date are inside V_0 and ignored.
    """
    from scipy.optimize import brentq  # scipy loads in seconds: only when a rate is solved

    v = series(values, "values", min_len=2)
    f = flows_on(v, flows).to_numpy().copy()
    f[0] = 0.0
    d = days_between(v.index)
    total = d[-1]
    if total <= 0:
        raise AnalyticsError("money-weighted return needs two different dates")
    amounts = np.concatenate([[float(v.iloc[0])], f[1:]])
    years = np.concatenate([[total], total - d[1:]]) / 365.0
    end = float(v.iloc[-1])
    keep = amounts != 0
    amounts, years = amounts[keep], years[keep]
    if len(amounts) == 0:
        raise AnalyticsError("money-weighted return undefined: no starting value and no flows")

    def npv(log1r: float) -> float:
        return float(np.dot(amounts, np.exp(log1r * years))) - end

    # Search in log(1+r) so that r stays above -100%; grid from -99.99% to +1e6%.
    grid = np.concatenate([-np.geomspace(9.21, 1e-6, 60), [0.0], np.geomspace(1e-6, 9.21, 60)])
    vals = np.array([npv(g) for g in grid])
    sign = np.sign(vals)
    exact = np.flatnonzero(vals == 0)
    brackets = np.flatnonzero(sign[:-1] * sign[1:] < 0)
    candidates = [float(grid[i]) for i in exact]
    candidates += [brentq(npv, grid[i], grid[i + 1], xtol=1e-14, rtol=1e-14, maxiter=200) for i in brackets]
    if not candidates:
        raise AnalyticsError(
            "money-weighted return: no rate between -99.99% and +1,000,000% makes the flows grow to "
            f"the end value {end:g}"
        )
    best = min(candidates, key=abs)
    return float(np.expm1(best))
