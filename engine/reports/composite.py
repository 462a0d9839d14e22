"""Household performance (its accounts as one portfolio) and GIPS-style composites of the accounts
on a model: the `report household-performance` and `report composite` documents (docs/reports.md).

Both read each account's daily values and external flows (engine.reports.history), convert them
to one reporting currency at each day's ECB rate, and link daily time-weighted returns.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.analytics import AnalyticsError
from engine.analytics.composite import (
    asset_weighted,
    daily_subperiod_returns,
    dispersion,
    link,
    periodic_returns,
)
from engine.errors import NotFound
from engine.pricing.fx import FxTable
from engine.reports.history import AccountHistory, account_history
from engine.reports.numbers import money
from engine.store.accounts import Account, Household, Model

PERIODS = {"M": "month", "Q": "quarter", "Y": "year"}


def _r(x: float | None, nd: int = 6) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), nd)


def _m(x: float, currency: str) -> float:
    return float(money(x, currency))


def _in(h: AccountHistory, currency: str, fx: FxTable) -> tuple[pd.Series, pd.Series]:
    """(values, flows) of one account's history in `currency` at each day's rate."""
    if currency == h.base_currency:
        return h.frame["value"], h.frame["flow"]
    dates = list(h.frame.index.date)
    rates = np.asarray(fx.rates([h.base_currency] * len(dates), [currency] * len(dates), dates), dtype=float)
    return h.frame["value"] * rates, h.frame["flow"] * rates


def household_performance(
    session: Session, household: str, start: date, end: date, currency: str | None = None, freq: str = "M"
) -> dict[str, Any]:
    """The household's return from the sum of its accounts' values and flows in one currency (by
    default the base currency of its largest account at the end), by period and over the range."""
    hh = session.scalars(select(Household).where(Household.code == household)).first()
    if hh is None:
        raise NotFound(f"no household {household!r}")
    accounts = list(
        session.scalars(select(Account).where(Account.household_id == hh.id).order_by(Account.code))
    )
    if not accounts:
        raise AnalyticsError(f"household {household} has no accounts")
    fx = FxTable.load(session, start=start, end=end)
    histories = [account_history(session, a.id, start, end, fx) for a in accounts]
    if currency is None:  # the base currency holding the most value at the end (valued in USD)
        ends: dict[str, float] = {}
        for h in histories:
            ends[h.base_currency] = ends.get(h.base_currency, 0.0) + float(_in(h, "USD", fx)[0].iloc[-1])
        currency = max(sorted(ends), key=lambda c: ends[c])
    values: pd.Series | None = None
    flows: pd.Series | None = None
    rows = []
    for a, h in zip(accounts, histories):
        v, f = _in(h, currency, fx)
        values = v if values is None else values.add(v, fill_value=0.0)
        flows = f if flows is None else flows.add(f, fill_value=0.0)
        rows.append(
            {
                "account": a.code,
                "base_currency": h.base_currency,
                "twr": _r(link(daily_subperiod_returns(h.frame["value"], h.frame["flow"]))),
                "twr_in_currency": _r(link(daily_subperiod_returns(v, f))),
                "start_value": _m(float(v.iloc[0]), currency),
                "end_value": _m(float(v.iloc[-1]), currency),
            }
        )
    assert values is not None and flows is not None
    daily = daily_subperiod_returns(values, flows)
    by_period = periodic_returns(values, flows, freq)
    return {
        "report": "household_performance",
        "household": hh.code,
        "currency": currency,
        "from": values.index[0].date().isoformat(),
        "to": values.index[-1].date().isoformat(),
        "start_value": _m(float(values.iloc[0]), currency),
        "end_value": _m(float(values.iloc[-1]), currency),
        "net_flows": _m(float(flows.iloc[1:].sum()), currency),
        "twr": _r(link(daily)),
        "period": PERIODS[freq],
        "periods": [{"period": str(p), "return": _r(r)} for p, r in by_period.items()],
        "accounts": rows,
    }


def composite_report(
    session: Session, model_code: str, start: date, end: date, currency: str = "USD", freq: str = "M"
) -> dict[str, Any]:
    """Accounts on the model (its current assignment), asset-weighted by each period's beginning
    value among accounts invested at that beginning (new accounts join from their first full
    period, GIPS), with dispersion of the accounts present for the whole range."""
    model = session.scalars(select(Model).where(Model.code == model_code)).first()
    if model is None:
        raise NotFound(f"no model {model_code!r}")
    accounts = list(
        session.scalars(select(Account).where(Account.model_id == model.id).order_by(Account.code))
    )
    if not accounts:
        raise AnalyticsError(f"no account is on model {model_code}")
    fx = FxTable.load(session, start=start, end=end)
    returns: dict[str, pd.Series] = {}
    begins: dict[str, pd.Series] = {}
    excluded = []
    for a in accounts:
        try:
            v, f = _in(account_history(session, a.id, start, end, fx), currency, fx)
            r = periodic_returns(v, f, freq)
        except AnalyticsError as exc:
            excluded.append({"account": a.code, "reason": str(exc)})
            continue
        # The value at each period's beginning: the last value before the period's first return day.
        days = v.index[1:].to_period(freq)
        first_rows = pd.Series(np.arange(1, len(v)), index=days).groupby(level=0).min()
        begin = pd.Series(v.to_numpy()[first_rows.to_numpy() - 1], index=first_rows.index)
        invested = begin > 0
        returns[a.code] = r.where(invested)
        begins[a.code] = begin.where(invested)
    if not returns:
        raise AnalyticsError(f"no account on model {model_code} has a history between {start} and {end}")
    r_frame = pd.DataFrame(returns)
    b_frame = pd.DataFrame(begins)
    comp = asset_weighted(r_frame, b_frame)
    whole = r_frame.notna().all(axis=0)
    full = r_frame.loc[:, whole]
    spread = dispersion(
        pd.Series({c: link(full[c]) for c in full.columns}, dtype=float), b_frame.loc[:, whole].iloc[0]
    )
    return {
        "report": "composite",
        "model": model.code,
        "currency": currency,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "period": PERIODS[freq],
        "membership": "accounts on the model today; each period counts the accounts invested at its start",
        "accounts": len(returns),
        "composite_return": _r(link(comp.dropna())),
        "periods": [
            {
                "period": str(p),
                "return": _r(comp[p]),
                "accounts": int(r_frame.loc[p].notna().sum()),
                "assets": _m(float(b_frame.loc[p].sum(skipna=True)), currency),
            }
            for p in r_frame.index
        ],
        "dispersion": {
            "accounts": spread.accounts,
            "asset_weighted_std": _r(spread.asset_weighted_std),
            "equal_weighted_std": _r(spread.equal_weighted_std),
            "high": _r(spread.high),
            "low": _r(spread.low),
            "note": spread.note,
        },
        "excluded": excluded,
    }
