"""Daily account history rebuilt from the ledger: market value in base currency, flows, local value.

For each date with prices in the range, an account holds the lots open on that date: open lots
from their acquisition, and relieved lots (realized_gains rows) from acquisition until the sale
date. Lots opened by a booked trade start on the trade date (not the wash-sale-adjusted holding
start). Lots that arrived without a booked trade (imports, the demo book) are transfers in kind:
their market value on the arrival date is an external flow, so arriving does not count as return.
Cash on a date is today's balance less the movements dated after it. Booked external flows
(engine.accounting.fxspot.book_cash_flow) are flows at that day's FX rate. Values are end of day.
`value_prev_fx` prices today's holdings at yesterday's FX: it separates local return from the
currency return. Splits after a date are not unwound (quantities are today's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting.tables import Booking, CashMovement, RealizedGain
from engine.analytics.errors import AnalyticsError, MissingValueError
from engine.pricing.fx import FxTable
from engine.store.accounts import Account
from engine.store.market import PriceBar
from engine.store.positions import CashBalance, TaxLot
from engine.store.reference import Security

_BOOKED = re.compile(r"^B(\d+)")


@dataclass(frozen=True)
class AccountHistory:
    """Daily series for one account (index: dates)."""

    account: str
    base_currency: str
    frame: pd.DataFrame  # columns: value, value_prev_fx, flow


def _lots(session: Session, account_id: int) -> pd.DataFrame:
    open_ = session.execute(
        select(TaxLot.lot_ref, TaxLot.security_id, TaxLot.quantity, TaxLot.acquired).where(
            TaxLot.account_id == account_id
        )
    ).all()
    closed = session.execute(
        select(
            RealizedGain.lot_ref,
            RealizedGain.security_id,
            RealizedGain.quantity,
            RealizedGain.acquired,
            RealizedGain.sold,
        ).where(RealizedGain.account_id == account_id)
    ).all()
    rows = [(r, s, float(q), a, None) for r, s, q, a in open_] + [
        (r, s, float(q), a, d) for r, s, q, a, d in closed
    ]
    df = pd.DataFrame(rows, columns=["lot_ref", "security_id", "quantity", "start", "end"])
    trade_dates = dict(
        session.execute(
            select(Booking.id, Booking.trade_date).where(
                Booking.account_id == account_id, Booking.kind == "trade"
            )
        ).all()
    )
    booked = []
    for i, ref in enumerate(df["lot_ref"]):
        m = _BOOKED.match(ref or "")
        bid = int(m.group(1)) if m else None
        if bid in trade_dates:
            df.at[i, "start"] = trade_dates[bid]
            booked.append(True)
        else:
            booked.append(False)
    df["booked"] = booked
    return df


def account_history(session: Session, account_id: int, start: date, end: date, fx: FxTable) -> AccountHistory:
    """The account's daily value, value at the previous day's FX, and external flows, in base currency."""
    acct = session.get(Account, account_id)
    if acct is None:
        raise AnalyticsError(f"no account id {account_id}")
    base = acct.base_currency
    dates = pd.DatetimeIndex(
        sorted(
            session.scalars(
                select(PriceBar.date).where(PriceBar.date >= start, PriceBar.date <= end).distinct()
            )
        )
    )
    if len(dates) == 0:
        raise AnalyticsError(f"no prices between {start} and {end}")
    lots = _lots(session, account_id)
    sec_ids = sorted(set(lots["security_id"]))
    secs = pd.DataFrame(
        session.execute(
            select(Security.id, Security.symbol, Security.currency, Security.price_multiplier).where(
                Security.id.in_(sec_ids)
            )
        ).all(),
        columns=["security_id", "symbol", "currency", "mult"],
    ).set_index("security_id")
    px = pd.DataFrame(
        session.execute(
            select(PriceBar.security_id, PriceBar.date, PriceBar.close).where(
                PriceBar.security_id.in_(sec_ids),
                PriceBar.date >= start - timedelta(days=10),
                PriceBar.date <= end,
            )
        ).all(),
        columns=["security_id", "date", "close"],
    )
    if len(px):
        px["date"] = pd.to_datetime(px["date"])
        px["close"] = px["close"].astype(float)
        closes = (
            px.pivot(index="date", columns="security_id", values="close")
            .sort_index()
            .ffill()
            .reindex(dates, method="ffill")
        )
    else:
        closes = pd.DataFrame(index=dates)
    n = len(dates)
    value = np.zeros(n)
    value_prev = np.zeros(n)
    flow = np.zeros(n)
    d64 = dates.to_numpy(dtype="datetime64[D]")
    prev_dates = np.r_[d64[:1] - np.timedelta64(1, "D"), d64[:-1]]
    rate_cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def rates(ccy: str) -> tuple[np.ndarray, np.ndarray]:
        if ccy not in rate_cache:
            now = fx.rates([ccy] * n, [base] * n, list(d64))
            before = fx.rates([ccy] * n, [base] * n, list(prev_dates))
            rate_cache[ccy] = (now, before)
        return rate_cache[ccy]

    for lot in lots.itertuples(index=False):
        s = pd.Timestamp(lot.start).to_datetime64().astype("datetime64[D]")
        e = pd.Timestamp(lot.end).to_datetime64().astype("datetime64[D]") if lot.end is not None else None
        active = (d64 >= s) & ((d64 < e) if e is not None else True)
        if not active.any():
            continue
        sec = secs.loc[lot.security_id]
        price = (
            closes[lot.security_id].to_numpy() if lot.security_id in closes.columns else np.full(n, np.nan)
        )
        if np.isnan(price[active]).any():
            i = int(np.flatnonzero(active & np.isnan(price))[0])
            raise MissingValueError(f"{sec.symbol} has no price on or before {dates[i].date()}")
        now, before = rates(sec.currency)
        mv = np.where(active, lot.quantity * np.nan_to_num(price) * float(sec.mult), 0.0)
        value += mv * now
        value_prev += mv * before
        if not lot.booked and s > d64[0]:
            # Arrived in kind after the first date: its value that day is an external flow.
            first = int(np.argmax(active))
            flow[first] += mv[first] * now[first]
    # Cash: today's balance less movements dated after each day.
    balances = dict(
        (c, float(st) + float(un or 0))
        for c, st, un in session.execute(
            select(CashBalance.currency, CashBalance.settled, CashBalance.unsettled).where(
                CashBalance.account_id == account_id
            )
        ).all()
    )
    moves = pd.DataFrame(
        session.execute(
            select(
                CashMovement.currency, CashMovement.amount, CashMovement.trade_date, CashMovement.kind
            ).where(CashMovement.account_id == account_id)
        ).all(),
        columns=["currency", "amount", "trade_date", "kind"],
    )
    for ccy in set(balances) | set(moves["currency"]):
        m = moves[moves["currency"] == ccy]
        when = m["trade_date"].to_numpy(dtype="datetime64[D]")
        amt = m["amount"].astype(float).to_numpy()
        later = np.array([amt[when > d].sum() for d in d64])
        cash = balances.get(ccy, 0.0) - later
        now, before = rates(ccy)
        value += cash * now
        value_prev += cash * before
        ext = m[m["kind"] == "flow"]
        for w, a in zip(ext["trade_date"].to_numpy(dtype="datetime64[D]"), ext["amount"].astype(float)):
            hit = np.flatnonzero(d64 >= w)
            if len(hit) and w > d64[0]:
                flow[hit[0]] += a * now[hit[0]]
    frame = pd.DataFrame({"value": value, "value_prev_fx": value_prev, "flow": flow}, index=dates)
    return AccountHistory(acct.code, base, frame)
