"""Holdings of many accounts at the close of a past day, in bulk (a few queries for all accounts).

A statement shows the book at the period's end, not today's lots: each account held on day E its
open lots that had started by E and the parts of lots sold after E (realized_gains rows with
sold > E). A lot opened by a booked trade starts on the trade date, others on their `acquired`
date (as engine.reports.lot_history). Quantities are unwound through the splits since (today's
open lot and a sale's quantity are stated after every split up to then). Cash per currency is
today's trade-date balance less every movement dated after E (as engine.reports.cash_history).
Values: E's last close x price multiplier, in base currency at E's FX rate; cost in base at the
lot's purchase rate; unrealized = value - cost, short or long term held to E.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.accounting.holding import last_long_acquisition
from engine.accounting.tables import Booking, CashMovement, HoldingPeriodRule, RealizedGain
from engine.errors import NotFound
from engine.pricing.fx import FxTable
from engine.pricing.prices import last_prices
from engine.reports.lot_history import NEVER, cumulative_factor, split_factors
from engine.store.accounts import Account
from engine.store.positions import CashBalance, TaxLot
from engine.store.reference import Security

LOT_COLUMNS = ["account_id", "security_id", "lot_ref", "quantity", "acquired", "cost_base", "ref"]


def _frame(rows: Sequence[Any], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


def _pieces(session: Session, ids: list[int], end: date) -> pd.DataFrame:
    """Every piece of a lot held at the close of `end` (see the module docstring)."""
    open_lots = _frame(
        session.execute(
            select(
                TaxLot.account_id, TaxLot.security_id, TaxLot.lot_ref, TaxLot.quantity, TaxLot.acquired,
                TaxLot.unit_cost, TaxLot.fx_rate, Security.price_multiplier,
            ).join(Security, Security.id == TaxLot.security_id).where(TaxLot.account_id.in_(ids))
        ).all(),
        ["account_id", "security_id", "lot_ref", "quantity", "acquired", "unit_cost", "fx_rate", "mult"],
    )  # fmt: skip
    for c in ("quantity", "unit_cost", "fx_rate", "mult"):
        open_lots[c] = open_lots[c].astype(float)
    open_lots["cost_base"] = (
        open_lots["quantity"] * open_lots["unit_cost"] * open_lots["mult"] * open_lots["fx_rate"]
    )
    open_lots["ref"] = NEVER
    sold = _frame(
        session.execute(
            select(
                RealizedGain.account_id, RealizedGain.security_id, RealizedGain.lot_ref, RealizedGain.quantity,
                RealizedGain.acquired, RealizedGain.cost_base, RealizedGain.sold,
            ).where(RealizedGain.account_id.in_(ids), RealizedGain.sold > end)
        ).all(),
        LOT_COLUMNS,
    )  # fmt: skip
    sold["quantity"] = sold["quantity"].astype(float)
    sold["cost_base"] = sold["cost_base"].astype(float)
    pieces = pd.concat([open_lots[LOT_COLUMNS], sold], ignore_index=True)
    if pieces.empty:
        return pieces
    starts = {
        (int(a or 0), str(r)): d
        for a, r, d in session.execute(
            select(Booking.account_id, Booking.lot_ref, Booking.trade_date).where(
                Booking.account_id.in_(ids), Booking.kind == "trade", Booking.lot_ref.is_not(None)
            )
        ).all()
    }

    def start(a: int, ref: object, acquired: date) -> date:
        key = str(ref or "")
        return starts.get((a, key)) or starts.get((a, key.split("-W", 1)[0])) or acquired

    pieces["start"] = [
        start(int(a), r, d) for a, r, d in zip(pieces["account_id"], pieces["lot_ref"], pieces["acquired"])
    ]
    pieces = pieces[pieces["start"] <= end].reset_index(drop=True)
    sids = sorted({int(s) for s in pieces["security_id"]})
    splits = split_factors(session, sids)
    at_end = np.datetime64(end, "D")
    refs = pieces["ref"].to_numpy(dtype="datetime64[D]")
    scale = np.ones(len(pieces))
    for sid in splits:
        rows = (pieces["security_id"] == sid).to_numpy()
        c_end = cumulative_factor(splits, sid, np.array([at_end]))[0]
        scale[rows] = c_end / cumulative_factor(splits, sid, refs[rows])
    pieces["quantity"] = pieces["quantity"] * scale
    return pieces


def holdings_at(
    session: Session, ids: list[int], end: date, fx: FxTable, base: dict[int, str]
) -> pd.DataFrame:
    """One row per (account, security) held at the close of `end`: quantity, price, currency, values
    local and base, cost and unrealized in base (short, long, none), asset class, symbol, name."""
    pieces = _pieces(session, ids, end)
    cols = [
        "account_id", "security_id", "symbol", "name", "asset_class", "sector", "currency", "quantity",
        "price", "value_local", "value_base", "cost_base", "unrealized_short", "unrealized_long",
        "unrealized_none",
    ]  # fmt: skip
    if pieces.empty:
        return pd.DataFrame(columns=cols)
    secs = _frame(
        session.execute(
            select(
                Security.id, Security.symbol, Security.name, Security.asset_class, Security.sector,
                Security.currency, Security.price_multiplier,
            ).where(Security.id.in_(sorted({int(s) for s in pieces["security_id"]})))
        ).all(),
        ["security_id", "symbol", "name", "asset_class", "sector", "currency", "mult"],
    ).set_index("security_id")  # fmt: skip
    prices = last_prices(session, end, list(secs.index))
    p = pieces.join(secs, on="security_id")
    p["price"] = p["security_id"].map(prices["close"]) if len(prices) else np.nan
    if p["price"].isna().any():
        sym = p.loc[p["price"].isna(), "symbol"].iloc[0]
        raise NotFound(f"{sym} is held on {end} but has no price on or before it")
    p["value_local"] = p["quantity"] * p["price"] * p["mult"].astype(float)
    bases = p["account_id"].map(base)
    p["value_base"] = p["value_local"] * fx.rates(p["currency"], bases, end)
    p["gain"] = p["value_base"] - p["cost_base"]
    months = dict(
        session.execute(select(HoldingPeriodRule.jurisdiction, HoldingPeriodRule.long_after_months)).all()
    )
    juris = _jurisdictions(session, ids)
    rule = p["account_id"].map(lambda a: months.get(juris[int(a)]))
    cut = {m: last_long_acquisition(end, int(m)) for m in {int(x) for x in rule.dropna()}}
    longs = np.array(
        [r == r and r is not None and a <= cut[int(r)] for r, a in zip(rule, p["acquired"])], dtype=bool
    )
    nones = rule.isna().to_numpy()
    p["unrealized_short"] = np.where(~longs & ~nones, p["gain"], 0.0)
    p["unrealized_long"] = np.where(longs & ~nones, p["gain"], 0.0)
    p["unrealized_none"] = np.where(nones, p["gain"], 0.0)
    keys = ["account_id", "security_id", "symbol", "name", "asset_class", "sector", "currency"]
    out = (
        p.groupby(keys, sort=False)
        .agg(
            quantity=("quantity", "sum"), price=("price", "first"), value_local=("value_local", "sum"),
            value_base=("value_base", "sum"), cost_base=("cost_base", "sum"),
            unrealized_short=("unrealized_short", "sum"), unrealized_long=("unrealized_long", "sum"),
            unrealized_none=("unrealized_none", "sum"),
        )
        .reset_index()
    )  # fmt: skip
    out = out[np.abs(out["quantity"]) > 1e-9]
    return out.sort_values(["account_id", "asset_class", "value_base"], ascending=[True, True, False])[cols]


def _jurisdictions(session: Session, ids: list[int]) -> dict[int, str]:
    return dict(
        session.execute(select(Account.id, Account.tax_jurisdiction).where(Account.id.in_(ids))).all()
    )


def cash_at(session: Session, ids: list[int], end: date, fx: FxTable, base: dict[int, str]) -> pd.DataFrame:
    """Trade-date cash per (account, currency) at the close of `end`: amount and value in base."""
    now = _frame(
        session.execute(
            select(
                CashBalance.account_id, CashBalance.currency, CashBalance.settled, CashBalance.unsettled
            ).where(CashBalance.account_id.in_(ids))
        ).all(),
        ["account_id", "currency", "settled", "unsettled"],
    )
    now["amount"] = now["settled"].astype(float) + now["unsettled"].fillna(0).astype(float)
    later = _frame(
        session.execute(
            select(CashMovement.account_id, CashMovement.currency, func.sum(CashMovement.amount))
            .where(CashMovement.account_id.in_(ids), CashMovement.trade_date > end)
            .group_by(CashMovement.account_id, CashMovement.currency)
        ).all(),
        ["account_id", "currency", "later"],
    )
    later["later"] = later["later"].astype(float)
    c = now[["account_id", "currency", "amount"]].merge(later, on=["account_id", "currency"], how="outer")
    c = c.fillna({"amount": 0.0, "later": 0.0})
    c["amount"] = c["amount"] - c["later"]
    c = c[np.abs(c["amount"]) > 1e-9].copy()
    if c.empty:
        return pd.DataFrame(columns=["account_id", "currency", "amount", "value_base"])
    c["value_base"] = c["amount"] * fx.rates(c["currency"], c["account_id"].map(base), end)
    return c.sort_values(["account_id", "currency"])[["account_id", "currency", "amount", "value_base"]]
