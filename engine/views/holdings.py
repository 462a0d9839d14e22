"""Holdings for the grid: accounts -> positions -> lots, with weights and drift against the model.

Conventions (until engine/rebalance/drift.py lands and replaces `positions()`):
- weight = market value in base / account value (lots plus all cash, in base);
- target = looked-through model weight x (1 - cash target); the account's base-currency cash
  row carries the cash target;
- drift = weight - target; an account is out of band when any |drift| exceeds its drift band;
- unrealized gain is split short/long term by the US rule: long when held MORE than one year
  (the acquisition day is not counted; the as-of day is).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from engine.accounting import holding
from engine.views.snapshot import BookSnapshot

CASH_SYMBOL = "CASH"


def long_term_mask(acquired: pd.Series, as_of: date) -> np.ndarray:
    """True where a lot bought on `acquired` is long-term on `as_of` (engine.accounting.holding's rule)."""
    return holding.long_term_mask(pd.to_datetime(acquired).to_numpy(), as_of)


def lots_with_terms(snap: BookSnapshot) -> pd.DataFrame:
    """The snapshot's lots with their holding term and unrealized gain split short/long.

    The columns are added to `snap.lots` itself (no copy: on the 10,000-account book a copy of
    the 1.35M lots was another ~500 MB in the desk), so the result is `snap.lots`."""
    lots = snap.lots
    if lots.empty:
        return lots
    lt = long_term_mask(lots["acquired"], snap.as_of)  # type: ignore[arg-type]
    lots["term"] = pd.Categorical.from_codes(lt.astype(np.int8), categories=["short", "long"])
    lots["unrealized_st"] = np.where(lt, 0.0, lots["unrealized_base"])
    lots["unrealized_lt"] = np.where(lt, lots["unrealized_base"], 0.0)
    return lots


def positions(snap: BookSnapshot, lots: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (account, security) held or targeted, plus one per cash currency."""
    lots = lots_with_terms(snap) if lots is None else lots
    accts = snap.accounts
    total = snap.account_value()
    held = (
        lots.groupby(["account_id", "security_id"])
        .agg(
            quantity=("quantity", "sum"),
            price=("price", "first"),
            mv_local=("mv_local", "sum"),
            mv_base=("mv_base", "sum"),
            cost_base=("cost_base", "sum"),
            unrealized_st=("unrealized_st", "sum"),
            unrealized_lt=("unrealized_lt", "sum"),
            lots=("lot_id", "size"),
        )
        .reset_index()
        if len(lots)
        else pd.DataFrame(columns=["account_id", "security_id"])
    )
    tgt = (
        accts[["account_id", "model_id", "cash_target"]]
        .reset_index(drop=True)
        .merge(snap.targets, on="model_id", how="inner")
    )
    tgt["target"] = tgt["weight"] * (1.0 - tgt["cash_target"])
    pos = held.merge(
        tgt[["account_id", "security_id", "target"]], on=["account_id", "security_id"], how="outer"
    )
    pos["target"] = pos["target"].fillna(0.0)
    for col in ("quantity", "mv_local", "mv_base", "cost_base", "unrealized_st", "unrealized_lt", "lots"):
        pos[col] = pos[col].fillna(0.0)
    sec = snap.securities
    pos["symbol"] = pos["security_id"].map(sec["symbol"])
    pos["name"] = pos["security_id"].map(sec["name"])
    pos["sector"] = pos["security_id"].map(sec["sector"])
    pos["asset_class"] = pos["security_id"].map(sec["asset_class"])
    pos["currency"] = pos["security_id"].map(sec["currency"])
    pos["mic"] = pos["security_id"].map(sec["mic"])
    cash = cash_rows(snap)
    cash_lines = pd.DataFrame(
        {
            "account_id": cash["account_id"],
            "security_id": -1,
            "quantity": cash["amount"],
            "price": 1.0,
            "mv_local": cash["amount"],
            "mv_base": cash["value_base"],
            "cost_base": cash["value_base"],
            "unrealized_st": 0.0,
            "unrealized_lt": 0.0,
            "lots": 0,
            "target": cash["target"],
            "symbol": CASH_SYMBOL + " " + cash["currency"],
            "name": cash["currency"] + " cash",
            "sector": "Cash",
            "asset_class": "cash",
            "currency": cash["currency"],
            "mic": "",
        }
    )
    pos = pd.concat([pos, cash_lines], ignore_index=True)
    pos["security_id"] = pos["security_id"].astype(np.int64)
    pos["account_value"] = pos["account_id"].map(total).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pos["weight"] = np.where(pos["account_value"] > 0, pos["mv_base"] / pos["account_value"], 0.0)
    pos["drift"] = pos["weight"] - pos["target"]
    pos["base_currency"] = pos["account_id"].map(accts["base_currency"])
    pos["account"] = pos["account_id"].map(accts["code"])
    return pos.sort_values(["account_id", "mv_base"], ascending=[True, False], ignore_index=True)


def accounts(snap: BookSnapshot, pos: pd.DataFrame) -> pd.DataFrame:
    """One row per account: value, cash, drift summary, unrealized gains split by term."""
    a = snap.accounts.copy()
    g = pos.groupby("account_id")
    a["value_base"] = snap.account_value()
    a["cash_base"] = (
        pos[pos["security_id"] < 0].groupby("account_id")["mv_base"].sum().reindex(a.index).fillna(0.0)
    )
    a["positions"] = (
        pos[(pos["security_id"] >= 0) & (pos["quantity"] != 0)]
        .groupby("account_id")
        .size()
        .reindex(a.index)
        .fillna(0)
        .astype(int)
    )
    abs_drift = pos["drift"].abs().groupby(pos["account_id"])  # vectorized: no call per account
    a["max_drift"] = abs_drift.max().reindex(a.index).fillna(0.0)
    a["active_weight"] = (abs_drift.sum() / 2).reindex(a.index).fillna(0.0)
    a["out_of_band"] = np.where(a["max_drift"] > a["drift_band"], "yes", "")
    a["unrealized_st"] = g["unrealized_st"].sum().reindex(a.index).fillna(0.0)
    a["unrealized_lt"] = g["unrealized_lt"].sum().reindex(a.index).fillna(0.0)
    return a.reset_index(drop=True)


def lots_of(
    snap: BookSnapshot,
    lots: pd.DataFrame,
    account_id: int,
    security_id: int,
    refs: Callable[[list[int]], dict[int, str]] | None = None,
) -> pd.DataFrame:
    """The open lots of one position, oldest first; `refs` reads their lot references
    (snapshot.lot_refs: the snapshot does not hold them), else they show the lot id."""
    sel = lots[(lots["account_id"] == account_id) & (lots["security_id"] == security_id)].copy()
    if "lot_ref" not in sel:
        got = refs([int(i) for i in sel["lot_id"]]) if refs is not None else {}
        sel["lot_ref"] = [got.get(int(i), str(i)) for i in sel["lot_id"]]
    ref = snap.securities["symbol"]
    sel["symbol"] = sel["security_id"].map(ref)
    sel["acquired_date"] = sel["acquired"].dt.date
    return sel.sort_values("acquired", ignore_index=True)


def cash_rows(snap: BookSnapshot) -> pd.DataFrame:
    """The cash lines of `positions`: one per account and currency held, and the base
    currency's (carrying the cash target) always."""
    accts = snap.accounts
    cash = snap.cash.groupby(["account_id", "currency"])[["amount", "value_base"]].sum().reset_index()
    base_rows = (
        accts[["account_id", "base_currency", "cash_target"]]
        .reset_index(drop=True)
        .rename(columns={"base_currency": "currency"})
    )
    cash = cash.merge(base_rows, on=["account_id", "currency"], how="outer")
    cash["target"] = cash["cash_target"].fillna(0.0)
    return cash.fillna({"amount": 0.0, "value_base": 0.0})
