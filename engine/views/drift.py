"""Drift by bucket for the heatmap: accounts x (sector | asset class | currency), weight - target.

Built on `holdings.positions()` so the heatmap and the grid show the same numbers. A bucket's
drift is the sum of its positions' weights minus the sum of their targets; cash is its own
bucket ("Cash" sector, "cash" asset class, and its currency in the currency view).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

BUCKETS = {"sector": "sector", "asset class": "asset_class", "currency": "currency"}


@dataclass(frozen=True)
class DriftMatrix:
    """`values[i, j]` is account i's drift in bucket j (a fraction; +0.02 = 2 points overweight)."""

    account_ids: np.ndarray
    account_codes: list[str]
    buckets: list[str]
    values: np.ndarray
    weights: np.ndarray
    targets: np.ndarray
    bands: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        rows, cols = self.values.shape
        return int(rows), int(cols)


def drift_matrix(
    pos: pd.DataFrame, accounts: pd.DataFrame, by: str = "sector", buckets: list[str] | None = None
) -> DriftMatrix:
    """Aggregate position drift into one matrix; rows follow `accounts` order. With `buckets`
    (another matrix's, for a few accounts' rows of it) the columns are those."""
    col = BUCKETS[by]
    agg = pos.groupby(["account_id", col], observed=True)[["weight", "target"]].sum().reset_index()
    agg[col] = agg[col].astype(str)
    if buckets is None:
        buckets = sorted(agg[col].unique(), key=lambda b: (b in ("Cash", "cash"), b))
    ids = accounts["account_id"].to_numpy()
    w = (
        agg.pivot(index="account_id", columns=col, values="weight")
        .reindex(index=ids, columns=buckets)
        .fillna(0.0)
    )
    t = (
        agg.pivot(index="account_id", columns=col, values="target")
        .reindex(index=ids, columns=buckets)
        .fillna(0.0)
    )
    return DriftMatrix(
        account_ids=ids,
        account_codes=accounts["code"].astype(str).tolist(),
        buckets=list(buckets),
        values=(w - t).to_numpy(dtype=float),
        weights=w.to_numpy(dtype=float),
        targets=t.to_numpy(dtype=float),
        bands=accounts["drift_band"].to_numpy(dtype=float),
    )


def drift_rows(
    pos: pd.DataFrame, accounts: pd.DataFrame, account_ids: list[int], by: str, buckets: list[str]
) -> DriftMatrix | None:
    """The matrix rows of `account_ids` only (their positions grouped, no other account's), on
    the columns `buckets`; None when one of them holds a bucket the matrix has no column for (the
    whole matrix is due then)."""
    col = BUCKETS[by]
    mine = pos[pos["account_id"].isin(account_ids)]
    held = set(mine.loc[(mine["weight"] != 0) | (mine["target"] != 0), col].astype(str))
    if not held <= set(buckets):
        return None
    rows = accounts[accounts["account_id"].isin(account_ids)]
    return drift_matrix(mine, rows, by, buckets)
