"""When a household needs no solve: its aggregate within band and no account with a cash need.

A household solved together is held to the household's target, not each account to its model
(asset location leaves accounts off their models on purpose), so in a full rebalance that skips
in-band accounts the household is skipped when its aggregate weights (value shares in the
reporting currency) are within the tightest band of its accounts on every security, and no
account must trade: none holds an excluded security it must sell, none has cash above its
target by more than its band (cash to deploy). The exact check of each account's holdings
still runs (a cash floor or cap already crossed makes the household solve).
"""

from __future__ import annotations

import numpy as np

from engine.rebalance.prepare import Prepared


def must_trade(p: Prepared) -> bool:
    """The account has a cash need or a forced sale whatever the household's drift."""
    a = p.account
    held_excluded = bool((p.w0[p.excluded] > 0).any()) and not a.keep_legacy
    return held_excluded or p.cash0 - a.cash_target > a.band


def aggregate_drift(
    preps: list[Prepared], shares: np.ndarray, union: np.ndarray, target: np.ndarray
) -> float:
    """Largest absolute gap of the household's aggregate weights to its target (fraction of V_H)."""
    agg = np.zeros(len(union))
    for p, s in zip(preps, shares):
        np.add.at(agg, np.searchsorted(union, p.idx), s * p.w0)
    return float(np.abs(agg - target).max(initial=0.0))


def household_in_band(
    preps: list[Prepared], shares: np.ndarray, union: np.ndarray, target: np.ndarray
) -> str | None:
    """The reason the household stays as it is, or None when it must be solved."""
    if any(must_trade(p) for p in preps):
        return None
    band = min(p.account.band for p in preps)
    drift = aggregate_drift(preps, shares, union, target)
    if drift > band:
        return None
    return f"household within band: aggregate drift {drift:.2%} <= {band:.2%}, no trades needed"
