"""The harvest rung of `--mode tlh`: sell the harvestable lots, buy each position's substitute.

The swap keeps the exposure (the substitute is the same asset class, not substantially
identical) and trades nothing else, so turnover is the harvest and its replacement only.
"""

from __future__ import annotations

import numpy as np

from engine.rebalance.book import Universe
from engine.rebalance.prepare import Prepared


def harvest_swap(p: Prepared, u: Universe) -> tuple[np.ndarray, np.ndarray]:
    """(buy weights, sell weights) over the account's securities: each harvested position's
    harvestable lots sold, the proceeds after costs bought in its chosen substitute (less what
    cash needs to reach its floor)."""
    lot_w = np.asarray(p.values["lot_w"])
    w = np.where(p.harvest_lot, lot_w[p.lot_pos, p.lot_slot], 0.0)
    sell = np.bincount(p.lot_pos, weights=w, minlength=p.n)
    buy = np.zeros(p.n)
    cost = u.cost[p.idx]
    for k in np.flatnonzero(sell > 0).tolist():
        j = int(p.substitute[k])
        if j >= 0:
            buy[j] += sell[k] * (1.0 - cost[k]) / (1.0 + cost[j])
    # Cash below its floor is topped up from the proceeds first (the substitutes get the rest).
    short = p.account.cash_floor + 0.001 - p.cash0
    spend = (buy * (1.0 + cost)).sum()
    if short > 0 and spend > 0:
        buy *= max(0.0, 1.0 - short / spend)
    return buy, sell
