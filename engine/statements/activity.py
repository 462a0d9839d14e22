"""What happened in many accounts during a period, in bulk: trades, income net of withholding, fees,
deposits and withdrawals (in base currency at each trade date's rate), and realized gains by term.

Cash-movement kinds follow engine.daycycle.values.CASH_KINDS: dividend and interest are income,
withholding is taken from it (negative), fee is a fee (negative), flow/deposit/withdrawal are
external flows (deposits positive, withdrawals negative).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounting.tables import Booking, CashMovement, RealizedGain
from engine.pricing.fx import FxTable
from engine.store.reference import Security

SUMMARY = ("income", "withholding", "income_net", "fees", "deposits", "withdrawals")
_KIND = {"dividend": "income", "interest": "income", "withholding": "withholding", "fee": "fees"}
_FLOWS = frozenset({"flow", "deposit", "withdrawal"})


def trades(
    session: Session, ids: list[int], first: date, last: date, fx: FxTable, base: dict[int, str]
) -> pd.DataFrame:
    """Trades booked with a trade date in [first, last]: date, side, symbol, quantity, price, currency,
    net cash in local currency (proceeds less costs, negative for a buy) and in base currency."""
    rows = session.execute(
        select(
            Booking.account_id, Booking.trade_date, Booking.side, Security.symbol, Booking.quantity, Booking.price,
            Booking.currency, Booking.cash_amount, Booking.id,
        )
        .join(Security, Security.id == Booking.security_id)
        .where(Booking.account_id.in_(ids), Booking.kind == "trade", Booking.trade_date >= first, Booking.trade_date <= last)
        .order_by(Booking.account_id, Booking.trade_date, Booking.id)
    ).all()  # fmt: skip
    t = pd.DataFrame(
        [tuple(r) for r in rows],
        columns=[
            "account_id",
            "trade_date",
            "side",
            "symbol",
            "quantity",
            "price",
            "currency",
            "amount_local",
            "id",
        ],
    )
    for c in ("quantity", "price", "amount_local"):
        t[c] = t[c].astype(float)
    t["amount_base"] = (
        t["amount_local"] * fx.rates(t["currency"], t["account_id"].map(base), list(t["trade_date"]))
        if len(t)
        else 0.0
    )
    return t.drop(columns=["id"])


def cash_summary(
    session: Session, ids: list[int], first: date, last: date, fx: FxTable, base: dict[int, str]
) -> pd.DataFrame:
    """Per account (index) in base currency: income (gross), withholding, income_net, fees, deposits,
    withdrawals over [first, last]."""
    rows = session.execute(
        select(CashMovement.account_id, CashMovement.currency, CashMovement.amount, CashMovement.kind, CashMovement.trade_date)
        .where(CashMovement.account_id.in_(ids), CashMovement.trade_date >= first, CashMovement.trade_date <= last)
    ).all()  # fmt: skip
    m = pd.DataFrame(
        [tuple(r) for r in rows], columns=["account_id", "currency", "amount", "kind", "trade_date"]
    )
    out = pd.DataFrame(0.0, index=pd.Index(ids, name="account_id"), columns=list(SUMMARY))
    if m.empty:
        return out
    m["amount"] = m["amount"].astype(float)
    m["base"] = m["amount"] * fx.rates(m["currency"], m["account_id"].map(base), list(m["trade_date"]))
    col = m["kind"].map(_KIND)
    flows = m["kind"].isin(_FLOWS)
    col = col.where(~flows, np.where(m["base"] >= 0, "deposits", "withdrawals"))
    m = m.assign(column=col).dropna(subset=["column"])
    sums = m.pivot_table(index="account_id", columns="column", values="base", aggfunc="sum", fill_value=0.0)
    for c in sums.columns:
        out.loc[sums.index, c] = sums[c]
    out["income_net"] = out["income"] + out["withholding"]
    return out


def realized(session: Session, ids: list[int], first: date, last: date) -> pd.DataFrame:
    """Per account (index): realized gain in base currency by term (short, long, none) and the losses
    disallowed as wash sales, for lots sold in [first, last]."""
    rows = session.execute(
        select(RealizedGain.account_id, RealizedGain.term, RealizedGain.gain_base, RealizedGain.wash_disallowed_base)
        .where(RealizedGain.account_id.in_(ids), RealizedGain.sold >= first, RealizedGain.sold <= last)
    ).all()  # fmt: skip
    g = pd.DataFrame([tuple(r) for r in rows], columns=["account_id", "term", "gain", "disallowed"])
    cols = ["realized_short", "realized_long", "realized_none", "wash_disallowed"]
    out = pd.DataFrame(0.0, index=pd.Index(ids, name="account_id"), columns=cols)
    if g.empty:
        return out
    g["gain"] = g["gain"].astype(float)
    g["disallowed"] = g["disallowed"].astype(float)
    for term in ("short", "long", "none"):
        s = g[g["term"] == term].groupby("account_id")["gain"].sum()
        out.loc[s.index, f"realized_{term}"] = s
    d = g.groupby("account_id")["disallowed"].sum()
    out.loc[d.index, "wash_disallowed"] = d
    return out
