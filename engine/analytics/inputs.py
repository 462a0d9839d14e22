"""Input checks shared by the analytics: a float Series on unique sorted dates, no missing values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.analytics.errors import AnalyticsError, MissingValueError


def _label(index_value: object) -> str:
    if isinstance(index_value, pd.Timestamp):
        return str(index_value.date()) if index_value == index_value.normalize() else str(index_value)
    return str(index_value)


def series(x: pd.Series, name: str, min_len: int = 1) -> pd.Series:
    """`x` as float64, checked: a pandas Series, dates unique and increasing, no NaN, long enough."""
    if not isinstance(x, pd.Series):
        raise AnalyticsError(f"{name} must be a pandas Series indexed by date, got {type(x).__name__}")
    s = x.astype("float64")
    missing = s.isna().to_numpy()
    if missing.any():
        raise MissingValueError(f"{name} has a missing value on {_label(s.index[int(np.argmax(missing))])}")
    if not np.isfinite(s.to_numpy()).all():
        bad = int(np.argmax(~np.isfinite(s.to_numpy())))
        raise AnalyticsError(f"{name} is not finite on {_label(s.index[bad])}")
    if s.index.has_duplicates:
        raise AnalyticsError(f"{name} has the date {_label(s.index[s.index.duplicated()][0])} twice")
    if not s.index.is_monotonic_increasing:
        raise AnalyticsError(f"{name} dates must be in increasing order")
    if len(s) < min_len:
        raise AnalyticsError(f"{name} needs at least {min_len} value(s), got {len(s)}")
    return s


def flows_on(values: pd.Series, flows: pd.Series | None) -> pd.Series:
    """Flows aligned to the values' dates (0 where none); a flow on a date with no value is an error."""
    if flows is None:
        return pd.Series(0.0, index=values.index)
    f = series(flows, "flows", min_len=0)
    extra = f.index.difference(values.index)
    if len(extra):
        raise AnalyticsError(f"flows has a flow on {_label(extra[0])}, a date with no value")
    return f.reindex(values.index, fill_value=0.0)


def days_between(index: pd.Index) -> np.ndarray:
    """Calendar days from the first date to each date (ACT)."""
    d = pd.DatetimeIndex(pd.to_datetime(index))
    return np.asarray((d - d[0]).days, dtype=float)


def aligned(
    a: pd.Series, b: pd.Series, names: tuple[str, str], min_len: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """Both series on the dates they both have (inner join), as arrays."""
    x, y = series(a, names[0]), series(b, names[1])
    common = x.index.intersection(y.index)
    if len(common) < min_len:
        raise AnalyticsError(f"{names[0]} and {names[1]} share {len(common)} date(s); need {min_len}")
    return x.loc[common].to_numpy(), y.loc[common].to_numpy()
