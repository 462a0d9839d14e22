"""Revalue the book at a date and store each account's daily value and external flows.

Value: open lots at the date's last close x multiplier, and cash (settled + unsettled, i.e.
trade-date cash) in every currency, at the date's FX into the account's base currency
(engine.pricing.valuation). Stale prices and rates (engine.pricing.staleness, the stored
policy) are exceptions and counted on the accounts that hold them: they are valued on the last
number there is, and say so.

Flows: everything booked since the previous closed date (exclusive) up to this one (inclusive),
so a date that was never closed does not lose its flows. Cash movements count by their kind
(CASH_KINDS), in base at their trade date's rate; securities moved in or out in kind
(IN_KIND_KINDS, bookings with a security and quantity) at this date's close. `flows` (what
performance takes out of return) = cash flows + transfers; income and fees are return.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from engine.accounting.tables import Booking, CashMovement
from engine.daycycle.tables import AccountDailyValue
from engine.model.currency import round_money
from engine.pricing.fx import FxTable
from engine.pricing.prices import last_prices
from engine.pricing.staleness import fx_last_dates, load_policy, price_frame, stale_fx, stale_prices
from engine.pricing.valuation import load_lot_values, pair_rates, value_cash
from engine.store.accounts import Account
from engine.store.bulk import table_of
from engine.store.reference import Security

CASH_KINDS: dict[str, str] = {
    "flow": "cash_flows",
    "deposit": "cash_flows",
    "withdrawal": "cash_flows",
    "dividend": "income",
    "withholding": "income",
    "interest": "income",
    "fee": "fees",
}
"""Cash-movement kind -> the daily column it adds to (other kinds, e.g. trades and FX, are neither)."""
IN_KIND_KINDS: dict[str, int] = {"transfer_in": 1, "transfer_out": -1}
"""Booking kind -> sign of a transfer of securities in kind (the booking's quantity is positive)."""
FX_LOOKBACK = timedelta(days=10)


@dataclass(frozen=True)
class Valuation:
    """Per account (index: account id) in base currency: market_value, cash, stale; the exceptions."""

    day: date
    accounts: pd.DataFrame
    lots: int
    exceptions: list[dict[str, Any]]
    lot_frame: pd.DataFrame | None = field(default=None, repr=False, compare=False)
    """The open lots as read for this valuation (load_lot_values' columns and more): a caller that
    needs the same lots after the close (the demo history's snapshot) need not read them again."""

    def counts(self) -> dict[str, Any]:
        a = self.accounts
        by_ccy = a.groupby("base_currency")[["market_value", "cash"]].sum().sum(axis=1)
        return {
            "accounts": len(a),
            "lots": self.lots,
            "stale_prices": sum(1 for e in self.exceptions if e["kind"] == "stale_price"),
            "stale_fx": sum(1 for e in self.exceptions if e["kind"] == "stale_fx"),
            "accounts_with_stale_data": int((a["stale"] > 0).sum()),
            "value_by_base_currency": {str(k): round(float(v), 2) for k, v in by_ccy.items()},
        }


def revalue(session: Session, day: date) -> Valuation:
    """Value every account at `day`, flagging stale prices and FX (see the module docstring)."""
    fx = FxTable.load(session, start=day - FX_LOOKBACK, end=day)
    lots = load_lot_values(session)
    prices = last_prices(session, day)
    lots["price"] = lots["security_id"].map(prices["close"]) if len(prices) else np.nan
    unpriced = lots["price"].isna()
    lots["mv"] = (lots["quantity"] * lots["price"].fillna(0.0) * lots["price_multiplier"]).to_numpy()
    lots["mv"] *= pair_rates(fx, lots["currency"], lots["base_currency"], day)
    cash = value_cash(session, day, fx)
    accts = pd.DataFrame(
        session.execute(select(Account.id, Account.code, Account.base_currency).order_by(Account.id)).all(),
        columns=["account_id", "code", "base_currency"],
    ).set_index("account_id")
    accts["market_value"] = lots.groupby("account_id")["mv"].sum().reindex(accts.index, fill_value=0.0)
    accts["cash"] = cash.groupby("account_id")["value_base"].sum().reindex(accts.index, fill_value=0.0)
    exceptions: list[dict[str, Any]] = []
    policy = load_policy(session)
    # Only a security whose last close is before the date can be stale: the calendars (costly to
    # build) are asked about those alone.
    held = np.unique(lots["security_id"].to_numpy())
    last = pd.Series(prices["date"] if len(prices) else pd.Series(dtype=object)).reindex(held)
    old = [int(sid) for sid, d in zip(held, last) if d is None or pd.isna(d) or d < day]
    stale_ids: set[int] = set()
    if old:
        for sid, item in stale_prices(price_frame(session, day, old), policy, day).items():
            n = int(lots.loc[lots["security_id"] == sid, "account_id"].nunique())
            exceptions.append({**item.as_dict(), "kind": "stale_price", "accounts": n})
            stale_ids.add(sid)
    for sid in sorted(set(lots.loc[unpriced, "security_id"].tolist()) - stale_ids):
        exceptions.append(
            {"kind": "no_price", "security_id": int(sid), "reason": f"no close on or before {day}"}
        )
        stale_ids.add(int(sid))
    in_stale = lots["security_id"].isin(list(stale_ids))
    stale_by_account = lots.loc[in_stale].groupby("account_id")["security_id"].nunique()
    accts["stale"] = stale_by_account.reindex(accts.index, fill_value=0).astype(int)
    lot_ccys = [str(c) for c in pd.unique(lots["currency"].astype(object))] if len(lots) else []
    ccys = set(lot_ccys) | set(cash["currency"]) | set(accts["base_currency"])
    if len(ccys) > 1:
        for ccy, item in stale_fx(fx_last_dates(session, day, ccys), policy, day).items():
            uses = set(lots.loc[(lots["currency"] == ccy).to_numpy(), "account_id"].tolist())
            uses |= set(cash.loc[cash["currency"] == ccy, "account_id"].tolist())
            uses |= set(accts.index[accts["base_currency"] == ccy])
            exceptions.append({**item.as_dict(), "kind": "stale_fx", "accounts": len(uses)})
            accts.loc[accts.index.isin(list(uses)), "stale"] += 1
    return Valuation(day, accts, len(lots), exceptions, lot_frame=lots)


def previous_close(session: Session, day: date) -> date | None:
    """The last date before `day` with stored daily values (its flows were counted then)."""
    return session.scalar(select(func.max(AccountDailyValue.day)).where(AccountDailyValue.day < day))


def daily_flows(session: Session, day: date, since: date | None, base: pd.Series) -> pd.DataFrame:
    """Per account (index of `base`: account id -> base currency): cash_flows, transfers, income,
    fees in base currency, booked after `since` (None: on `day` only) up to `day`."""
    start = since + timedelta(days=1) if since is not None else day
    out = pd.DataFrame(0.0, index=base.index, columns=["cash_flows", "transfers", "income", "fees"])
    fx = FxTable.load(session, start=start - FX_LOOKBACK, end=day)
    moves = pd.DataFrame(
        session.execute(
            select(CashMovement.account_id, CashMovement.currency, CashMovement.amount,
                   CashMovement.trade_date, CashMovement.kind)
            .where(CashMovement.trade_date >= start, CashMovement.trade_date <= day,
                   CashMovement.kind.in_(list(CASH_KINDS)))
        ).all(),
        columns=["account_id", "currency", "amount", "trade_date", "kind"],
    )  # fmt: skip
    if len(moves):
        rate = fx.rates(moves["currency"], base.reindex(moves["account_id"]).to_numpy(), moves["trade_date"])
        moves["base"] = moves["amount"].astype(float).to_numpy() * rate
        moves["column"] = moves["kind"].map(CASH_KINDS)
        summed = moves.groupby(["account_id", "column"])["base"].sum().unstack(fill_value=0.0)
        for col in summed.columns:
            out[col] = summed[col].reindex(out.index, fill_value=0.0)
    moved = pd.DataFrame(
        session.execute(
            select(Booking.account_id, Booking.security_id, Booking.quantity, Booking.kind, Security.currency,
                   Security.price_multiplier)
            .join(Security, Security.id == Booking.security_id)
            .where(Booking.trade_date >= start, Booking.trade_date <= day, Booking.kind.in_(list(IN_KIND_KINDS)))
        ).all(),
        columns=["account_id", "security_id", "quantity", "kind", "currency", "mult"],
    )  # fmt: skip
    if len(moved):
        px = last_prices(session, day)["close"]
        value = (
            moved["quantity"].astype(float)
            * moved["security_id"].map(px).fillna(0.0)
            * moved["mult"].astype(float)
            * moved["kind"].map(IN_KIND_KINDS)
        )
        rate = fx.rates(moved["currency"], base.reindex(moved["account_id"]).to_numpy(), day)
        moved["base"] = value.to_numpy() * rate
        out["transfers"] = moved.groupby("account_id")["base"].sum().reindex(out.index, fill_value=0.0)
    return out


def store_daily_values(session: Session, valuation: Valuation) -> dict[str, Any]:
    """Replace the date's rows with one per account: value and the flows since the last close."""
    day = valuation.day
    a = valuation.accounts
    flows = daily_flows(session, day, previous_close(session, day), a["base_currency"])
    session.execute(delete(AccountDailyValue).where(AccountDailyValue.day == day))
    rows = []
    for aid, ccy, mv, cash, stale, cf, tr, inc, fee in zip(
        a.index, a["base_currency"], a["market_value"], a["cash"], a["stale"],
        flows["cash_flows"], flows["transfers"], flows["income"], flows["fees"],
    ):  # fmt: skip
        m, c = _money(mv, ccy), _money(cash, ccy)
        f_cash, f_tr = _money(cf, ccy), _money(tr, ccy)
        rows.append({"account_id": int(aid), "day": day, "base_currency": ccy, "market_value": m, "cash": c,
                     "value": m + c, "flows": f_cash + f_tr, "cash_flows": f_cash, "transfers": f_tr,
                     "income": _money(inc, ccy), "fees": _money(fee, ccy), "stale": int(stale)})  # fmt: skip
    for i in range(0, len(rows), 5000):
        session.execute(insert(table_of(AccountDailyValue)), rows[i : i + 5000])
    moved = flows[(flows["cash_flows"] != 0) | (flows["transfers"] != 0)]
    return {
        "accounts": len(rows),
        "since": (previous_close(session, day) or day).isoformat(),
        "accounts_with_flows": len(moved),
        "accounts_with_income": int((flows["income"] != 0).sum()),
        "accounts_with_fees": int((flows["fees"] != 0).sum()),
    }


def _money(x: float, ccy: str) -> Decimal:
    return round_money(Decimal(repr(float(x))), ccy)
