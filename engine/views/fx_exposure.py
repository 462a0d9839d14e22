"""FX exposure per currency for an account, a household or the firm, in one reporting currency.

exposure(c)  = market value of lots in currency c plus cash in c, in the reporting currency, at
               the as-of rate; net of hedges (none are booked yet: hedge ratio 0);
change today = the local amounts x (rate on the last fixing - rate on the fixing before), i.e.
               what FX moves alone did to the position since the previous fixing.
The reporting currency is the accounts' common base currency, else USD (the firm view).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.views.snapshot import REPORT_CURRENCY, BookSnapshot


@dataclass(frozen=True)
class Scope:
    """Which accounts: kind is 'firm', 'household' (key = household code) or 'account' (key = code)."""

    kind: str = "firm"
    key: str = ""

    def account_ids(self, snap: BookSnapshot) -> np.ndarray:
        a = snap.accounts
        if self.kind == "account":
            return a.loc[a["code"] == self.key, "account_id"].to_numpy()
        if self.kind == "household":
            return a.loc[a["household"] == self.key, "account_id"].to_numpy()
        return a["account_id"].to_numpy()

    def label(self) -> str:
        return "Firm" if self.kind == "firm" else f"{self.kind.title()} {self.key}"


def reporting_currency(snap: BookSnapshot, ids: np.ndarray) -> str:
    bases = snap.accounts.loc[snap.accounts["account_id"].isin(ids), "base_currency"].unique()
    return str(bases[0]) if len(bases) == 1 else REPORT_CURRENCY


def exposure(snap: BookSnapshot, scope: Scope) -> tuple[str, pd.DataFrame]:
    """(reporting currency, rows per currency: exposure, pct, change_today, hedge_ratio, local)."""
    ids = scope.account_ids(snap)
    ccy = reporting_currency(snap, ids)
    cols = ["currency", "local", "positions", "cash", "exposure", "pct", "change_today", "hedge_ratio"]
    if snap.as_of is None or len(ids) == 0:
        return ccy, pd.DataFrame(columns=cols)
    totals = snap.lot_totals()
    lots = totals[totals["account_id"].isin(ids)]
    cash = snap.cash[snap.cash["account_id"].isin(ids)]
    local = pd.concat(
        [
            lots.groupby("currency", observed=True)["mv_local"].sum().rename("positions"),
            cash.groupby("currency")["amount"].sum().rename("cash"),
        ],
        axis=1,
    ).fillna(0.0)
    local["local"] = local["positions"] + local["cash"]
    currencies = local.index.to_numpy()
    latest = snap.fixings[0] if snap.fixings else snap.as_of
    prev = snap.fixings[1] if len(snap.fixings) > 1 else latest
    to = [ccy] * len(currencies)
    r_now = snap.fx.rates(currencies, to, snap.as_of)
    r_last = snap.fx.rates(currencies, to, latest)
    r_prev = snap.fx.rates(currencies, to, prev)
    out = pd.DataFrame(
        {
            "currency": currencies,
            "local": local["local"].to_numpy(),
            "positions": local["positions"].to_numpy() * r_now,
            "cash": local["cash"].to_numpy() * r_now,
        }
    )
    out["exposure"] = out["positions"] + out["cash"]
    total = float(out["exposure"].sum())
    out["pct"] = out["exposure"] / total if total else 0.0
    out["change_today"] = local["local"].to_numpy() * (r_last - r_prev)
    out["hedge_ratio"] = 0.0
    out["reporting_currency"] = ccy
    return ccy, out.sort_values("exposure", ascending=False, ignore_index=True)
