"""Performance and risk of one account for the PM's chart panel, from engine.reports (no Qt).

The chart's lines are the growth of 1 in base currency: the account's linked daily returns
(end-of-day flows, the same sub-period returns `report performance` links into `twr`) and the
benchmark's (the account's model, flattened and rebalanced daily, or a named security). The
figures beside it are the `report performance` and `report risk` rows, unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from engine.errors import NotFound
from engine.store.accounts import Account
from engine.store.database import Database


@dataclass
class PerformanceData:
    """Daily series (index: dates) and the two report rows for one account."""

    account: str
    base_currency: str
    start: date
    end: date
    value: pd.Series
    growth: pd.Series
    benchmark: str | None
    benchmark_growth: pd.Series | None
    drawdown: pd.Series
    performance: dict[str, Any] = field(default_factory=dict)
    risk: dict[str, Any] = field(default_factory=dict)


def accounts(database: Database) -> list[tuple[int, str, str]]:
    """(id, code, name) of every account, by code: the panel's chooser."""
    with database.session() as s:
        rows = s.execute(select(Account.id, Account.code, Account.name).order_by(Account.code))
        return [(int(i), str(code), str(name)) for i, code, name in rows]


def _growth(returns: pd.Series, first: pd.Timestamp) -> pd.Series:
    """Growth of 1 from `first` (1.0 on the first date, then the linked returns)."""
    return pd.concat([pd.Series([1.0], index=[first]), (1.0 + returns).cumprod()])


def performance(
    database: Database, account_id: int, days: int = 365, benchmark: str = "model", confidence: float = 0.99
) -> PerformanceData:
    """The account over the `days` up to the book's as-of date, against `benchmark`."""
    # The reports (and scipy) load on first use, in the worker, not when the window opens.
    from engine.analytics import AnalyticsError
    from engine.daycycle.history import stored_history
    from engine.pricing.fx import FxTable
    from engine.reports.history import account_history
    from engine.reports.performance import (
        benchmark_returns,
        daily_returns,
        performance_report,
        risk_report,
        value_returns,
    )
    from engine.reports.scope import book_as_of

    with database.session() as s:
        acct = s.get(Account, account_id)
        if acct is None:
            raise NotFound(f"no account id {account_id}")
        end = book_as_of(s)
        start = end - timedelta(days=days)
        fx = FxTable.load(s, start=start, end=end)
        kept = stored_history(s, account_id, start, end)  # the day cycle's values, when it has them
        if kept is not None:
            f = kept
            base_r = value_returns(f)
        else:
            h = account_history(s, account_id, start, end, fx)
            base_r, _ = daily_returns(h)
            f = h.frame
        growth = _growth(base_r, f.index[0])
        label: str | None = None
        bench: pd.Series | None = None
        try:
            label, b = benchmark_returns(s, acct, f.index, fx, benchmark)
            bench = _growth(b, f.index[0])
        except (AnalyticsError, NotFound):
            pass
        perf = performance_report(s, [account_id], start, end, benchmark, stored=stored_history)["rows"][0]
        risk = risk_report(s, [account_id], start, end, confidence=confidence)["rows"][0]
        code, ccy = acct.code, acct.base_currency
    peak = np.maximum.accumulate(growth.to_numpy())
    return PerformanceData(
        account=code,
        base_currency=ccy,
        start=f.index[0].date(),
        end=f.index[-1].date(),
        value=f["value"].astype(float),
        growth=growth,
        benchmark=label,
        benchmark_growth=bench,
        drawdown=pd.Series(growth.to_numpy() / peak - 1.0, index=growth.index),
        performance=perf,
        risk=risk,
    )


def attribution(database: Database, account_id: int, days: int = 365, by: str = "sector") -> dict[str, Any]:
    """The `report attribution` document of the account over the `days` up to the book's as-of date
    (the same engine function as the CLI: engine.reports.attribution.attribution_report)."""
    from engine.reports.attribution import attribution_report
    from engine.reports.scope import book_as_of

    with database.session() as s:
        acct = s.get(Account, account_id)
        if acct is None:
            raise NotFound(f"no account id {account_id}")
        end = book_as_of(s)
        return attribution_report(s, acct.code, end - timedelta(days=days), end, by=by)
