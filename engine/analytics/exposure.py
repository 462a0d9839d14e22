"""Exposure by currency, sector, country or asset class, at account, household or firm level.

Inputs are valued lots (engine.pricing.cache.revalue or valuation.value_lots: account_id,
security_id, currency, base_currency, mv_base) and valued cash (value_cash: account_id,
currency, amount, value_base). Cash counts: in the currency dimension under its own currency,
in the others under "Cash". Account-level figures are in the account's base currency; household
and firm levels are translated to `report_currency` at the valuation date's rate, because a
household's accounts may have different base currencies. Weights are fractions of the group's
total (lots plus cash). FX hedges: the book has no forward or swap instruments yet, so the net
FX exposure equals the gross one; unsettled FX spot trades are in cash and therefore counted.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from engine.analytics.errors import AnalyticsError
from engine.pricing.fx import FxTable
from engine.pricing.lookup import positions
from engine.pricing.valuation import pair_rates

DIMENSIONS = ("currency", "sector", "country", "asset_class")
LEVELS = ("account", "household", "firm")
CASH = "Cash"


def exposure(
    lots: pd.DataFrame,
    cash: pd.DataFrame,
    securities: pd.DataFrame,
    accounts: pd.DataFrame,
    *,
    by: str,
    level: str = "account",
    fx: FxTable | None = None,
    as_of: date | None = None,
    report_currency: str = "USD",
) -> pd.DataFrame:
    """Columns: group (account or household code, or 'firm'), bucket, currency, value, weight."""
    if by not in DIMENSIONS:
        raise AnalyticsError(f"--by must be one of {', '.join(DIMENSIONS)}, got {by!r}")
    if level not in LEVELS:
        raise AnalyticsError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    # Integer codes throughout: positions found by binary search in the small tables, one bincount.
    sec_pos = positions(securities.index.to_numpy(), lots["security_id"].to_numpy())
    if (sec_pos < 0).any():
        missing = int(lots["security_id"].to_numpy()[np.argmax(sec_pos < 0)])
        raise AnalyticsError(f"lots hold security id {missing}, which is not among the securities")
    sec_codes, uniques = pd.factorize(securities[by].to_numpy(dtype=object))
    names = [str(u) for u in uniques]
    lot_codes = sec_codes[sec_pos].astype(np.int64)
    cash_labels = (
        cash["currency"].to_numpy(dtype=object)
        if by == "currency"
        else np.full(len(cash), CASH, dtype=object)
    )
    lookup = {n: i for i, n in enumerate(names)}
    for label in dict.fromkeys(cash_labels):
        if label not in lookup:
            lookup[label] = len(names)
            names.append(str(label))
    cash_codes = np.fromiter((lookup[c] for c in cash_labels), dtype=np.int64, count=len(cash_labels))
    acc_ids = accounts.index.to_numpy()
    owners = np.concatenate([lots["account_id"].to_numpy(), cash["account_id"].to_numpy()])
    acc_codes = positions(acc_ids, owners)
    if (acc_codes < 0).any():
        raise AnalyticsError(f"account id {int(owners[np.argmax(acc_codes < 0)])} is not among the accounts")
    codes = np.concatenate([lot_codes, cash_codes])
    values = np.concatenate([lots["mv_base"].to_numpy(dtype=float), cash["value_base"].to_numpy(dtype=float)])
    k = max(len(names), 1)
    key = acc_codes.astype(np.int64) * k + codes
    sums = np.bincount(key, weights=values, minlength=len(acc_ids) * k)
    idx = np.flatnonzero(np.bincount(key, minlength=len(acc_ids) * k))
    per_account = pd.DataFrame(
        {
            "account_id": acc_ids[idx // k],
            "bucket": np.asarray(names, dtype=object)[idx % k],
            "value": sums[idx],
        }
    )
    if level == "account":
        per_account["group"] = accounts["account"].reindex(per_account["account_id"]).to_numpy()
        per_account["currency"] = accounts["base_currency"].reindex(per_account["account_id"]).to_numpy()
        out = per_account[["group", "bucket", "currency", "value"]]
    else:
        if fx is None or as_of is None:
            raise AnalyticsError("household and firm exposure need fx and as_of to translate base currencies")
        base = accounts["base_currency"].reindex(per_account["account_id"]).to_numpy(dtype=object)
        rate = pair_rates(fx, pd.Series(base), pd.Series([report_currency] * len(base)), as_of)
        per_account["value"] = per_account["value"].to_numpy() * rate
        if level == "household":
            per_account["group"] = accounts["household"].reindex(per_account["account_id"]).to_numpy()
        else:
            per_account["group"] = "firm"
        out = per_account.groupby(["group", "bucket"], sort=True)["value"].sum().reset_index()
        out["currency"] = report_currency
        out = out[["group", "bucket", "currency", "value"]]
    totals = out.groupby("group")["value"].transform("sum")
    out = out.assign(weight=np.where(totals != 0, out["value"] / totals.replace(0, np.nan), 0.0))
    return out.sort_values(["group", "value"], ascending=[True, False], ignore_index=True)
