"""Daily account history rebuilt from the ledger: market value in base currency, flows, local value.

Holdings on each date come from the lots' open and close dates with splits unwound before their
ex-date (engine.reports.lot_history), and cash per currency from the cash ledger
(engine.reports.cash_history), so lots sold since and splits since are both right in the past.
Each currency's local value (securities at that day's last close x price multiplier, plus cash)
is translated at that day's FX rate; `value_prev_fx` translates it at the previous date's rate,
which separates the local return from the currency return. Values are end of day.

External flows, in base currency at the day's rate: booked deposits and withdrawals, and lots
that arrived without a booked trade (imports, the demo book, transfers in kind) valued on the
first date they are held, so arriving is not return. Flows on or before the first date are
already inside the first value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.analytics.errors import AnalyticsError, MissingValueError
from engine.pricing.fx import FxTable
from engine.pricing.rawread import date_literal, fetch_rows, id_list
from engine.reports.cash_history import cash_history
from engine.reports.lot_history import lot_segments, quantity_history, split_factors
from engine.store.accounts import Account
from engine.store.market import PriceBar
from engine.store.reference import Security

PRICE_LOOKBACK = timedelta(days=10)


@dataclass(frozen=True)
class AccountHistory:
    """Daily series for one account (index: dates)."""

    account: str
    base_currency: str
    frame: pd.DataFrame  # columns: value, value_prev_fx, flow (base currency)
    quantities: pd.DataFrame = field(default_factory=pd.DataFrame)  # dates x symbol
    cash: pd.DataFrame = field(default_factory=pd.DataFrame)  # dates x currency (local amounts)
    local: pd.DataFrame = field(default_factory=pd.DataFrame)  # dates x currency: securities + cash, local


def price_dates(session: Session, start: date, end: date) -> np.ndarray:
    """Every date in [start, end] on which the book has a price (datetime64[D])."""
    days = session.scalars(
        select(PriceBar.date).where(PriceBar.date >= start, PriceBar.date <= end).distinct()
    ).all()
    return np.array(sorted(days), dtype="datetime64[D]")


def closes(session: Session, security_ids: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """dates x securities: the last close on or before each date (NaN where none in the lookback)."""
    if len(security_ids) == 0 or len(dates) == 0:
        return np.full((len(dates), len(security_ids)), np.nan)
    first = pd.Timestamp(dates[0]).date() - PRICE_LOOKBACK
    last = pd.Timestamp(dates[-1]).date()
    # The driver's tuples, not ORM rows: a year of an account's prices is tens of thousands of rows.
    px = pd.DataFrame(
        fetch_rows(
            session,
            f"SELECT security_id, date, close FROM prices WHERE security_id IN ({id_list(security_ids)})"
            f" AND date >= {date_literal(first)} AND date <= {date_literal(last)}",
        ),
        columns=["security_id", "date", "close"],
    )
    if px.empty:
        return np.full((len(dates), len(security_ids)), np.nan)
    px["date"] = pd.to_datetime(px["date"])
    px["close"] = px["close"].astype(float)
    wide = px.pivot(index="date", columns="security_id", values="close").sort_index().ffill()
    wide = wide.reindex(columns=list(security_ids)).reindex(pd.DatetimeIndex(dates), method="ffill")
    return wide.to_numpy(dtype=float)


Closes = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(security ids, dates) -> the `closes` grid; lets a batch of accounts share one price load."""


def account_history(
    session: Session,
    account_id: int,
    start: date,
    end: date,
    fx: FxTable,
    dates: np.ndarray | None = None,
    closes_of: Closes | None = None,
) -> AccountHistory:
    """The account's daily value, value at the previous day's FX, and external flows, in base currency.

    `dates` (the price dates in [start, end]) and `closes_of` let a caller that rebuilds many
    accounts load them once (engine.statements); by default each call reads its own.
    """
    acct = session.get(Account, account_id)
    if acct is None:
        raise AnalyticsError(f"no account id {account_id}")
    base = acct.base_currency
    if dates is None:
        dates = price_dates(session, start, end)
    if len(dates) == 0:
        raise AnalyticsError(f"no prices between {start} and {end}")
    n = len(dates)
    index = pd.DatetimeIndex(dates)
    segments = lot_segments(session, account_id)
    sec_list = sorted(set(segments["security_id"].tolist()))
    qh = quantity_history(segments, split_factors(session, sec_list), dates)
    secs = pd.DataFrame(
        session.execute(
            select(Security.id, Security.symbol, Security.currency, Security.price_multiplier).where(
                Security.id.in_(sec_list)
            )
        ).all(),
        columns=["security_id", "symbol", "currency", "mult"],
    ).set_index("security_id")
    secs = secs.reindex(qh.security_ids)
    price = (
        closes(session, qh.security_ids, dates) if closes_of is None else closes_of(qh.security_ids, dates)
    )
    held = qh.quantity != 0
    gap = held & np.isnan(price)
    if gap.any():
        i, j = (int(a[0]) for a in np.nonzero(gap))
        raise MissingValueError(
            f"{secs['symbol'].iloc[j]} is held on {index[i].date()} but has no price on or before it"
        )
    mult = secs["mult"].astype(float).to_numpy()
    mv_local = np.where(held, qh.quantity * np.nan_to_num(price) * mult, 0.0)
    cash = cash_history(session, account_id, dates)
    currencies = sorted(set(secs["currency"]) | set(cash.balance.columns))
    prev_dates = np.r_[dates[:1] - np.timedelta64(1, "D"), dates[:-1]]
    rate_now = np.ones((n, len(currencies)))
    rate_prev = np.ones((n, len(currencies)))
    local = np.zeros((n, len(currencies)))
    sec_ccy = secs["currency"].to_numpy()
    for k, ccy in enumerate(currencies):
        rate_now[:, k] = fx.rates([ccy] * n, [base] * n, list(dates))
        rate_prev[:, k] = fx.rates([ccy] * n, [base] * n, list(prev_dates))
        local[:, k] = mv_local[:, sec_ccy == ccy].sum(axis=1)
        if ccy in cash.balance.columns:
            local[:, k] += cash.balance[ccy].to_numpy()
    value = (local * rate_now).sum(axis=1)
    value_prev = (local * rate_prev).sum(axis=1)
    flow = np.zeros(n)
    ccy_col = {c: k for k, c in enumerate(currencies)}
    a = qh.arrivals
    if len(a):
        r, c = a["row"].to_numpy(), a["col"].to_numpy()
        col = np.array([ccy_col[x] for x in sec_ccy[c]])
        np.add.at(flow, r, a["quantity"].to_numpy() * price[r, c] * mult[c] * rate_now[r, col])
    f = cash.flows
    if len(f):
        when = f["trade_date"].to_numpy(dtype="datetime64[D]")
        row = np.searchsorted(dates, when, side="left")
        inside = (when > dates[0]) & (row < n)
        fcol = np.array([ccy_col[x] for x in f["currency"]])
        np.add.at(flow, row[inside], f["amount"].to_numpy()[inside] * rate_now[row[inside], fcol[inside]])
    frame = pd.DataFrame({"value": value, "value_prev_fx": value_prev, "flow": flow}, index=index)
    quantities = pd.DataFrame(qh.quantity, index=index, columns=list(secs["symbol"]))
    local_values = pd.DataFrame(local, index=index, columns=currencies)
    return AccountHistory(acct.code, base, frame, quantities, cash.balance, local_values)
