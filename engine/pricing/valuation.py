"""Vectorized valuation of every open lot in local and base currency, as of a date.

Market value = quantity x last close x price multiplier (bonds are quoted in % of par with
multiplier 0.01), translated to the account's base currency at the valuation date's rate.
Cost in base uses the FX rate recorded on the lot at acquisition, never today's rate.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import Float, cast, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.pricing.fx import FxTable
from engine.pricing.prices import last_prices
from engine.store.accounts import Account
from engine.store.positions import CashBalance, TaxLot
from engine.store.reference import Security


def load_lots(session: Session, account_ids: list[int] | None = None) -> pd.DataFrame:
    q = (
        select(
            TaxLot.id.label("lot_id"),
            TaxLot.account_id,
            TaxLot.security_id,
            cast(TaxLot.quantity, Float).label("quantity"),
            cast(TaxLot.unit_cost, Float).label("unit_cost"),
            TaxLot.acquired,
            cast(TaxLot.fx_rate, Float).label("fx_rate"),
            Account.base_currency,
            Security.currency,
            cast(Security.price_multiplier, Float).label("price_multiplier"),
        )
        .join(Account, Account.id == TaxLot.account_id)
        .join(Security, Security.id == TaxLot.security_id)
    )
    if account_ids is not None:
        q = q.where(TaxLot.account_id.in_(account_ids))
    # Floats straight from the database: analytics are float64; Decimal is for the ledger.
    result = session.execute(q)
    names = list(result.keys())
    rows = result.all()
    if not rows:
        return pd.DataFrame(
            columns=[
                "lot_id",
                "account_id",
                "security_id",
                "quantity",
                "unit_cost",
                "acquired",
                "fx_rate",
                "base_currency",
                "currency",
                "price_multiplier",
            ]
        )
    return pd.DataFrame(dict(zip(names, zip(*rows))))


def value_lots(
    session: Session, as_of: date, fx: FxTable | None = None, account_ids: list[int] | None = None
) -> pd.DataFrame:
    """Lots with price, mv_local, mv_base, cost_base and unrealized_base (float64 analytics)."""
    lots = load_lots(session, account_ids)
    fx = fx or FxTable.load(session, end=as_of)
    prices = last_prices(session, as_of)
    lots["price"] = lots["security_id"].map(prices["close"]) if len(prices) else np.nan
    if lots["price"].isna().any():
        sid = int(lots.loc[lots["price"].isna(), "security_id"].iloc[0])
        raise NotFound(f"security id {sid} has no price on or before {as_of}")
    lots["mv_local"] = lots["quantity"] * lots["price"] * lots["price_multiplier"]
    lots["fx_now"] = fx.rates(lots["currency"], lots["base_currency"], as_of)
    lots["mv_base"] = lots["mv_local"] * lots["fx_now"]
    lots["cost_base"] = lots["quantity"] * lots["unit_cost"] * lots["price_multiplier"] * lots["fx_rate"]
    lots["unrealized_base"] = lots["mv_base"] - lots["cost_base"]
    return lots


def value_cash(session: Session, as_of: date, fx: FxTable | None = None) -> pd.DataFrame:
    """Cash balances with their value in the account's base currency."""
    q = select(
        CashBalance.account_id,
        CashBalance.currency,
        CashBalance.settled,
        CashBalance.unsettled,
        Account.base_currency,
    ).join(Account, Account.id == CashBalance.account_id)
    df = pd.DataFrame(
        session.execute(q).all(), columns=["account_id", "currency", "settled", "unsettled", "base_currency"]
    )
    fx = fx or FxTable.load(session, end=as_of)
    df["amount"] = df["settled"].astype(float) + df["unsettled"].astype(float)
    df["value_base"] = df["amount"] * fx.rates(df["currency"], df["base_currency"], as_of)
    return df
