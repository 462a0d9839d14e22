"""Vectorized valuation of every open lot in local and base currency, as of a date.

Market value = quantity x last close x price multiplier (bonds are quoted in % of par with
multiplier 0.01), translated to the account's base currency at the valuation date's rate.
Cost in base uses the FX rate recorded on the lot at acquisition, never today's rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Float, cast, select
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.pricing.fx import FxTable
from engine.pricing.lookup import positions
from engine.pricing.prices import last_prices
from engine.pricing.rawread import as_float, epoch_days, fetch_numeric, fetch_rows, id_list
from engine.store.accounts import Account
from engine.store.reference import Security

LOT_COLUMNS = [
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


def load_lots(session: Session, account_ids: list[int] | None = None) -> pd.DataFrame:
    """Every open lot (or the given accounts') with its account's base currency and security's currency.

    Read through the raw driver cursor into numpy columns (see rawread); `acquired` is datetime64.
    """
    where = "" if account_ids is None else f" WHERE account_id IN ({id_list(account_ids)})"
    num = ", ".join(as_float(session, c) for c in ("quantity", "unit_cost", "fx_rate"))
    block = fetch_numeric(
        session,
        f"SELECT id, account_id, security_id, {num}, {epoch_days(session, 'acquired')}"
        f" FROM tax_lots{where} ORDER BY id",
        7,
    )
    lot_id, account_id, security_id = (block[:, i].astype(np.int64) for i in range(3))
    quantity, unit_cost, fx_rate = block[:, 3], block[:, 4], block[:, 5]
    acquired = block[:, 6].astype(np.int64).astype("datetime64[D]")
    accounts = dict(session.execute(select(Account.id, Account.base_currency)).all())
    secs = session.execute(
        select(Security.id, Security.currency, cast(Security.price_multiplier, Float))
    ).all()
    frame = pd.DataFrame(
        {
            "lot_id": lot_id,
            "account_id": account_id,
            "security_id": security_id,
            "quantity": quantity,
            "unit_cost": unit_cost,
            "acquired": acquired.astype("datetime64[ns]"),
            "fx_rate": fx_rate,
        }
    )
    if frame.empty:
        empty_str = np.array([], dtype=object)
        return frame.assign(base_currency=empty_str, currency=empty_str, price_multiplier=np.array([]))[
            LOT_COLUMNS
        ]
    # Small look-ups joined by position in numpy, not by SQL join per lot.
    acc_ids = np.fromiter(accounts, dtype=np.int64)
    acc_ccy = np.array(list(accounts.values()), dtype=object)
    frame["base_currency"] = acc_ccy[positions(acc_ids, account_id)]
    pos = positions(np.array([r[0] for r in secs], dtype=np.int64), security_id)
    frame["currency"] = np.array([r[1] for r in secs], dtype=object)[pos]
    frame["price_multiplier"] = np.array([r[2] for r in secs], dtype=float)[pos]
    return frame[LOT_COLUMNS]


VALUE_COLUMNS = [
    "lot_id", "account_id", "security_id", "quantity", "unit_cost", "fx_rate", "base_currency", "currency", "price_multiplier",
]  # fmt: skip
KEY_SHIFT = 1 << 24  # security ids stay below 2**24: (account, security) travel as one integer


def load_lot_values(session: Session, account_ids: list[int] | None = None) -> pd.DataFrame:
    """Open lots with only what revaluation and exposures need (VALUE_COLUMNS), read fast.

    Five numbers per lot through the driver cursor: the lot id, account and security as one
    integer key, quantity, unit cost and acquisition FX rate as stored (exact doubles; no
    acquisition date, no text). The account's base currency and the security's currency and multiplier come
    from the small tables by id, the currencies as categoricals built from codes.
    """
    where = "" if account_ids is None else f" WHERE account_id IN ({id_list(account_ids)})"
    num = ", ".join(as_float(session, c) for c in ("quantity", "unit_cost", "fx_rate"))
    key = f"CAST(account_id AS BIGINT) * {KEY_SHIFT} + security_id"
    block = fetch_numeric(session, f"SELECT id, {key}, {num} FROM tax_lots{where} ORDER BY id", 5)
    keys = block[:, 1].astype(np.int64)
    account_id, security_id = keys // KEY_SHIFT, keys % KEY_SHIFT
    accounts: Sequence[Any] = session.execute(select(Account.id, Account.base_currency)).all() or [(-1, "")]
    secs: Sequence[Any] = session.execute(
        select(Security.id, Security.currency, cast(Security.price_multiplier, Float))
    ).all() or [(-1, "", np.nan)]
    acc_pos = positions(np.array([r[0] for r in accounts], dtype=np.int64), account_id)
    sec_pos = positions(np.array([r[0] for r in secs], dtype=np.int64), security_id)
    if (acc_pos < 0).any() or (sec_pos < 0).any():
        raise NotFound("a lot names an account or security that is not in the store")
    return pd.DataFrame(
        {
            "lot_id": block[:, 0].astype(np.int64),
            "account_id": account_id,
            "security_id": security_id,
            "quantity": block[:, 2],
            "unit_cost": block[:, 3],
            "fx_rate": block[:, 4],
            "base_currency": _categorical([r[1] for r in accounts], acc_pos),
            "currency": _categorical([r[1] for r in secs], sec_pos),
            "price_multiplier": np.array([r[2] for r in secs], dtype=float)[sec_pos],
        }
    )


def _categorical(labels: list[str], pos: np.ndarray) -> pd.Categorical:
    """Labels by row position in a small table, as a categorical built from integer codes."""
    categories, codes = np.unique(np.asarray(labels, dtype=object), return_inverse=True)
    return pd.Categorical.from_codes(codes[pos], categories=pd.Index(categories, dtype=object))


def _codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Integer codes and labels; free for a categorical column, a hash pass otherwise."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(), [str(c) for c in values.cat.categories]
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    return codes, [str(u) for u in uniques]


def pair_rates(
    fx: FxTable, from_ccy: pd.Series | np.ndarray, to_ccy: pd.Series | np.ndarray, on: date
) -> np.ndarray:
    """FX rates per row, computed once per distinct currency pair (not once per row)."""
    fc, fu = _codes(from_ccy)
    tc, tu = _codes(to_ccy)
    if len(fc) == 0:
        return np.ones(0)
    k = max(len(tu), 1)
    code = fc.astype(np.int64) * k + tc
    present = np.flatnonzero(np.bincount(code, minlength=len(fu) * k))
    rates = np.ones(len(fu) * k)
    rates[present] = fx.rates([fu[c // k] for c in present], [tu[c % k] for c in present], on)
    return rates[code]


def value_lots(
    session: Session, as_of: date, fx: FxTable | None = None, account_ids: list[int] | None = None
) -> pd.DataFrame:
    """Lots with price, mv_local, mv_base, cost_base and unrealized_base (float64 analytics)."""
    lots = load_lots(session, account_ids)
    fx = fx or FxTable.load(session, end=as_of)
    return value_loaded(lots, last_prices(session, as_of), fx, as_of)


def value_loaded(lots: pd.DataFrame, prices: pd.DataFrame, fx: FxTable, as_of: date) -> pd.DataFrame:
    """`value_lots` on lots already read (`load_lots`) with the last prices already read: the
    columns are added in place (a caller valuing a big read slice by slice)."""
    lots["price"] = lots["security_id"].map(prices["close"]) if len(prices) else np.nan
    if lots["price"].isna().any():
        sid = int(lots.loc[lots["price"].isna(), "security_id"].iloc[0])
        raise NotFound(f"security id {sid} has no price on or before {as_of}")
    lots["mv_local"] = lots["quantity"] * lots["price"] * lots["price_multiplier"]
    lots["fx_now"] = pair_rates(fx, lots["currency"], lots["base_currency"], as_of)
    lots["mv_base"] = lots["mv_local"] * lots["fx_now"]
    lots["cost_base"] = lots["quantity"] * lots["unit_cost"] * lots["price_multiplier"] * lots["fx_rate"]
    lots["unrealized_base"] = lots["mv_base"] - lots["cost_base"]
    return lots


def value_cash(session: Session, as_of: date, fx: FxTable | None = None) -> pd.DataFrame:
    """Cash balances with their value in the account's base currency."""
    money = ", ".join(as_float(session, f"c.{c}") for c in ("settled", "unsettled"))
    df = pd.DataFrame(
        fetch_rows(
            session,
            f"SELECT c.account_id, c.currency, {money}, a.base_currency"
            " FROM cash_balances c JOIN accounts a ON a.id = c.account_id ORDER BY c.account_id, c.currency",
        ),
        columns=["account_id", "currency", "settled", "unsettled", "base_currency"],
    )
    fx = fx or FxTable.load(session, end=as_of)
    df["amount"] = df["settled"].astype(float) + df["unsettled"].fillna(0.0).astype(float)
    df["value_base"] = df["amount"] * fx.rates(df["currency"], df["base_currency"], as_of)
    return df
