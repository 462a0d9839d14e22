"""Holdings: every position with price, local and base market value, weight, and cash per currency.

Weight is the position's base market value over the account's total (securities plus cash).
Positions aggregate an account's lots of one security ("--by position", the default) or list
each lot ("--by lot", with acquisition date, cost and unrealized gain).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import WorkstationError
from engine.pricing.cache import load_accounts, load_securities
from engine.pricing.fx import FxTable
from engine.pricing.valuation import value_cash, value_lots
from engine.store.positions import TaxLot


def _r(x: float, nd: int = 2) -> float:
    return round(float(x), nd)


def holdings_report(session: Session, ids: list[int], as_of: date, by: str = "position") -> dict[str, Any]:
    """The `report holdings --json` document (shape in docs/reports.md)."""
    if by not in ("position", "lot"):
        raise WorkstationError(f"holdings --by must be position or lot, got {by!r}")
    fx = FxTable.load(session, end=as_of)
    lots = value_lots(session, as_of, fx, account_ids=ids)
    cash = value_cash(session, as_of, fx)
    cash = cash[cash["account_id"].isin(ids)]
    secs = load_securities(session)
    accts = load_accounts(session).loc[ids]
    total = lots.groupby("account_id")["mv_base"].sum().reindex(ids, fill_value=0.0) + cash.groupby(
        "account_id"
    )["value_base"].sum().reindex(ids, fill_value=0.0)
    if by == "lot":
        refs = dict(
            session.execute(select(TaxLot.id, TaxLot.lot_ref).where(TaxLot.account_id.in_(ids))).all()
        )
        rows = lots.assign(lot_ref=lots["lot_id"].map(refs))
    else:
        rows = (
            lots.groupby(["account_id", "security_id"], sort=False)
            .agg(
                quantity=("quantity", "sum"),
                price=("price", "first"),
                currency=("currency", "first"),
                base_currency=("base_currency", "first"),
                mv_local=("mv_local", "sum"),
                mv_base=("mv_base", "sum"),
                cost_base=("cost_base", "sum"),
                unrealized_base=("unrealized_base", "sum"),
                lots=("lot_id", "size"),
            )
            .reset_index()
        )
    rows = rows.join(secs[["symbol", "isin", "mic"]], on="security_id")
    rows = rows.assign(account=accts["account"].reindex(rows["account_id"]).to_numpy())
    rows = rows.sort_values(["account", "mv_base"], ascending=[True, False])
    tot = total.reindex(rows["account_id"]).to_numpy(dtype=float)
    weight = np.divide(rows["mv_base"].to_numpy(dtype=float), tot, out=np.zeros(len(rows)), where=tot != 0)
    out_rows = []
    for r, w in zip(rows.itertuples(index=False), weight):
        row = {
            "account": r.account,
            "symbol": r.symbol,
            "isin": r.isin if isinstance(r.isin, str) else None,
            "mic": r.mic,
            "quantity": float(r.quantity),
            "price": float(r.price),
            "currency": r.currency,
            "market_value_local": _r(r.mv_local),
            "market_value_base": _r(r.mv_base),
            "base_currency": r.base_currency,
            "weight": round(float(w), 6),
            "cost_base": _r(r.cost_base),
            "unrealized_base": _r(r.unrealized_base),
            "as_of": as_of.isoformat(),
        }
        if by == "lot":
            row["lot_ref"] = r.lot_ref
            row["acquired"] = pd.Timestamp(r.acquired).date().isoformat()
        else:
            row["lots"] = int(r.lots)
        out_rows.append(row)
    cash_rows = [
        {
            "account": accts.loc[c.account_id, "account"],
            "currency": c.currency,
            "settled": _r(float(c.settled)),
            "unsettled": _r(float(c.unsettled)),
            "value_base": _r(c.value_base),
            "base_currency": c.base_currency,
            "weight": round(float(c.value_base / total[c.account_id]) if total[c.account_id] else 0.0, 6),
        }
        for c in cash.sort_values(["account_id", "currency"]).itertuples(index=False)
    ]
    sec_total = lots.groupby("account_id")["mv_base"].sum()
    cash_total = cash.groupby("account_id")["value_base"].sum()
    totals = [
        {
            "account": accts.loc[i, "account"],
            "base_currency": accts.loc[i, "base_currency"],
            "securities_base": _r(sec_total.get(i, 0.0)),
            "cash_base": _r(cash_total.get(i, 0.0)),
            "total_base": _r(total[i]),
            "positions": int((lots["account_id"] == i).sum())
            if by == "lot"
            else int((rows["account_id"] == i).sum()),
        }
        for i in sorted(ids, key=lambda i: accts.loc[i, "account"])
    ]
    return {
        "report": "holdings",
        "as_of": as_of.isoformat(),
        "by": by,
        "rows": out_rows,
        "cash": cash_rows,
        "totals": totals,
    }
