"""An in-memory copy of the book's lots, cash and reference data, revalued without the database.

Reading a million lots from the store costs about a second of driver fetch (five numbers per
lot: see valuation.load_lot_values); revaluing them as prices and FX move is pure numpy.
`BookCache.load` reads once; `reload_accounts` refreshes the accounts a booking touched;
`revalue` prices every lot in local and base currency as of a date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import Float, cast, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.pricing.fx import FxTable
from engine.pricing.lookup import positions
from engine.pricing.prices import last_prices
from engine.pricing.rawread import fetch_rows
from engine.pricing.valuation import load_lot_values, pair_rates, value_cash
from engine.store.reference import Security


def load_securities(session: Session) -> pd.DataFrame:
    """Reference columns reports and exposures need, indexed by security id."""
    rows = session.execute(
        select(
            Security.id,
            Security.symbol,
            Security.isin,
            Security.mic,
            Security.currency,
            Security.country,
            Security.sector,
            Security.asset_class,
            cast(Security.price_multiplier, Float),
        )
    ).all()
    cols = ["security_id", "symbol", "isin", "mic", "currency", "country", "sector", "asset_class", "mult"]
    return pd.DataFrame(rows, columns=cols).set_index("security_id")


def load_accounts(session: Session) -> pd.DataFrame:
    """Account code, household code and base currency, indexed by account id."""
    rows = fetch_rows(
        session,
        "SELECT a.id, a.code, h.code, a.base_currency, a.name"
        " FROM accounts a JOIN households h ON h.id = a.household_id ORDER BY a.id",
    )
    return pd.DataFrame(
        rows, columns=["account_id", "account", "household", "base_currency", "name"]
    ).set_index("account_id")


@dataclass
class BookCache:
    """Lots, cash, securities and accounts held in memory."""

    lots: pd.DataFrame
    cash: pd.DataFrame
    securities: pd.DataFrame
    accounts: pd.DataFrame

    @classmethod
    def load(cls, session: Session, as_of: date, fx: FxTable) -> BookCache:
        """Read once: the lots' valuation columns (load_lot_values), cash, securities, accounts."""
        return cls(
            load_lot_values(session),
            value_cash(session, as_of, fx),
            load_securities(session),
            load_accounts(session),
        )

    def reload_accounts(self, session: Session, account_ids: list[int], as_of: date, fx: FxTable) -> None:
        """Replace the cached lots and cash of these accounts with what the store holds now."""
        keep = ~self.lots["account_id"].isin(account_ids)
        fresh = load_lot_values(session, account_ids)
        text = {"currency": object, "base_currency": object}
        self.lots = _categorical(
            pd.concat([self.lots[keep].astype(text), fresh.astype(text)], ignore_index=True)
        )
        cash = value_cash(session, as_of, fx)
        self.cash = pd.concat(
            [
                self.cash[~self.cash["account_id"].isin(account_ids)],
                cash[cash["account_id"].isin(account_ids)],
            ],
            ignore_index=True,
        )


def _categorical(lots: pd.DataFrame) -> pd.DataFrame:
    """Currency columns as categoricals: a handful of labels over a million rows, codes for free."""
    return lots.astype({"currency": "category", "base_currency": "category"})


def revalue(lots: pd.DataFrame, prices: pd.Series, fx: FxTable, as_of: date) -> pd.DataFrame:
    """Lots with price, mv_local, fx_now, mv_base, cost_base, unrealized_base as of `as_of` (numpy, no loops).

    `prices` is the last close per security id (on or before as_of); a lot without one is an error.
    """
    out = lots.copy()
    sid = out["security_id"].to_numpy()
    pos = positions(prices.index.to_numpy(), sid)
    if (pos < 0).any():
        raise NotFound(f"security id {int(sid[pos < 0][0])} has no price on or before {as_of}")
    price = prices.to_numpy(dtype=float)[pos]
    out["price"] = price
    out["mv_local"] = out["quantity"].to_numpy() * price * out["price_multiplier"].to_numpy()
    out["fx_now"] = pair_rates(fx, out["currency"], out["base_currency"], as_of)
    out["mv_base"] = out["mv_local"] * out["fx_now"]
    out["cost_base"] = out["quantity"] * out["unit_cost"] * out["price_multiplier"] * out["fx_rate"]
    out["unrealized_base"] = out["mv_base"] - out["cost_base"]
    return out


def price_series(session: Session, as_of: date) -> pd.Series:
    """Last close per security id on or before `as_of`."""
    return last_prices(session, as_of)["close"]
