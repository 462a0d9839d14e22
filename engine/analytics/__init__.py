"""Performance and risk analytics: pure functions on pandas inputs (public API, conventions fixed).

Conventions (restated in every docstring): `returns` are simple periodic returns indexed by date;
`values` are end-of-day market values; `flows` are external flows (positive = money in) on some
of those dates, applied at the end of their day unless flow_timing="start". Calendar time is
ACT/365; `periods_per_year` defaults to 252. Missing values raise MissingValueError naming the
first missing date; they are never treated as zero.
"""

from engine.analytics.errors import AnalyticsError, MissingValueError
from engine.analytics.returns import modified_dietz, money_weighted_return, time_weighted_return
from engine.analytics.risk import (
    Drawdown,
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

__all__ = [
    "AnalyticsError",
    "Drawdown",
    "MissingValueError",
    "annualized_volatility",
    "beta",
    "expected_shortfall",
    "historical_var",
    "information_ratio",
    "max_drawdown",
    "modified_dietz",
    "money_weighted_return",
    "parametric_var",
    "sharpe_ratio",
    "sortino_ratio",
    "time_weighted_return",
    "tracking_error",
]
