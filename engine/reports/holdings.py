"""Holdings: every position with price, local and base market value, weight, and cash per currency.

Weight is the position's base market value over the account's total (securities plus cash).
Amounts are rounded to their currency's minor unit; an account's position and cash lines are
rounded together (largest remainder, engine.reports.numbers) so that they add up to its total to
the last minor unit, and its weights to exactly one.
Positions aggregate an account's lots of one security ("--by position", the default) or list
each lot ("--by lot", with acquisition date, cost and unrealized gain).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import WorkstationError
from engine.pricing.cache import load_accounts, load_securities
from engine.pricing.fx import FxTable
from engine.pricing.valuation import value_cash, value_lots
from engine.reports.numbers import allocate_money, money, weights
from engine.store.positions import TaxLot

Line = tuple[str, int]
"""("row", i) for the i-th position or lot row, ("cash", i) for the i-th cash row."""


def _positions(frame: pd.DataFrame) -> dict[int, np.ndarray]:
    """Row positions of each account in `frame` (one pass, not one scan per account)."""
    if frame.empty:
        return {}
    return {int(k): v for k, v in frame.groupby(frame["account_id"].to_numpy(), sort=False).indices.items()}


def _account_lines(
    rows: pd.DataFrame, cash: pd.DataFrame, total: pd.Series, accts: pd.DataFrame
) -> tuple[dict[Line, Decimal], dict[Line, Decimal]]:
    """Each line's base value rounded to the base currency's minor unit so that an account's lines
    add up to its rounded total, and its weight (6 decimals) so that the weights add up to one."""
    values: dict[Line, Decimal] = {}
    shares: dict[Line, Decimal] = {}
    row_at = _positions(rows)
    cash_at = _positions(cash)
    row_mv = rows["mv_base"].to_numpy(dtype=float)
    cash_mv = cash["value_base"].to_numpy(dtype=float)
    for i in total.index:
        keys: list[Line] = [("row", int(k)) for k in row_at.get(i, ())]
        keys += [("cash", int(k)) for k in cash_at.get(i, ())]
        if not keys:
            continue
        exact = [row_mv[k] if kind == "row" else cash_mv[k] for kind, k in keys]
        values.update(zip(keys, allocate_money(exact, str(accts.loc[i, "base_currency"]))))
        tot = float(total[i])
        fractions = [v / tot if tot else 0.0 for v in exact]
        shares.update(zip(keys, weights(fractions)))
    return values, shares


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
    cash = cash.sort_values(["account_id", "currency"])
    line_base, line_weight = _account_lines(rows, cash, total, accts)
    out_rows = []
    for k, r in enumerate(rows.itertuples(index=False)):
        row = {
            "account": r.account,
            "symbol": r.symbol,
            "isin": r.isin if isinstance(r.isin, str) else None,
            "mic": r.mic,
            "quantity": float(r.quantity),
            "price": float(r.price),
            "currency": r.currency,
            "market_value_local": float(money(r.mv_local, r.currency)),
            "market_value_base": float(line_base[("row", k)]),
            "base_currency": r.base_currency,
            "weight": float(line_weight[("row", k)]),
            "cost_base": float(money(r.cost_base, r.base_currency)),
            "unrealized_base": float(money(r.unrealized_base, r.base_currency)),
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
            "settled": float(money(c.settled, c.currency)),
            "unsettled": float(money(c.unsettled, c.currency)),
            "value_base": float(line_base[("cash", k)]),
            "base_currency": c.base_currency,
            "weight": float(line_weight[("cash", k)]),
        }
        for k, c in enumerate(cash.itertuples(index=False))
    ]
    row_at, cash_at = _positions(rows), _positions(cash)
    totals = []
    for i in sorted(ids, key=lambda i: accts.loc[i, "account"]):
        sec = sum((line_base[("row", int(k))] for k in row_at.get(i, ())), Decimal(0))
        csh = sum((line_base[("cash", int(k))] for k in cash_at.get(i, ())), Decimal(0))
        totals.append(
            {
                "account": accts.loc[i, "account"],
                "base_currency": accts.loc[i, "base_currency"],
                "securities_base": float(sec),
                "cash_base": float(csh),
                "total_base": float(sec + csh),  # the sum of the lines shown, to the minor unit
                "positions": len(row_at.get(i, ())),  # positions, or lots with --by lot
            }
        )
    return {
        "report": "holdings",
        "as_of": as_of.isoformat(),
        "by": by,
        "rows": out_rows,
        "cash": cash_rows,
        "totals": totals,
    }
