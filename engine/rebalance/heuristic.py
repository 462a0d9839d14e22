"""The last rung: a proportional move toward the eligible model that respects every hard bound.

Excluded names go to zero (or stay, for legacy positions), their model weight is spread over the
eligible model names in proportion, caps scale groups down, then the move is scaled to the
turnover cap and buys to the cash that sells and existing cash provide.
"""

from __future__ import annotations

import numpy as np

from engine.rebalance.book import Universe
from engine.rebalance.prepare import CAP_MARGIN, Prepared
from engine.rebalance.settings import Mode, RebalanceSettings


def target_weights(p: Prepared, s: RebalanceSettings) -> np.ndarray:
    """The eligible model: exclusions removed and re-spread, wash-blocked not raised, caps met."""
    a = p.account
    t = p.wm.copy()
    t[p.excluded] = 0.0
    legacy = p.excluded & a.keep_legacy
    t[legacy] = p.w0[legacy]
    frozen = p.blocked & ~p.excluded
    t[frozen] = np.minimum(t[frozen], p.w0[frozen])
    free = (t > 0) & ~p.excluded & ~p.blocked
    missing = p.wm.sum() - t.sum() + p.w0[legacy].sum() * 0.0
    if free.any() and missing > 0:
        t[free] += missing * t[free] / t[free].sum()
    ub = p.w_ub if p.w_ub is not None else np.full(p.n, 1.0)
    for _ in range(3):
        t = np.minimum(t, ub)
        for _kind, _lab, mask, cap in p.group_rows:
            tot = t[mask].sum()
            if tot > cap * CAP_MARGIN:
                t[mask] *= cap * CAP_MARGIN / tot
    return t


def proportional(p: Prepared, u: Universe, s: RebalanceSettings) -> tuple[np.ndarray, np.ndarray]:
    """(buy weights, sell weights) over the account's n securities."""
    a = p.account
    t = target_weights(p, s)
    sellable = np.zeros(p.n, dtype=bool)
    lot_w = np.asarray(p.values["lot_w"])
    sellable_w = np.bincount(p.lot_pos, weights=lot_w[p.lot_pos, p.lot_slot], minlength=p.n)
    sellable = sellable_w > 0
    must_sell = p.excluded & ~a.keep_legacy & sellable
    delta = t - p.w0
    buys = np.maximum(delta, 0.0)
    sells = np.minimum(np.maximum(-delta, 0.0), sellable_w)
    if p.mode in (Mode.BUY_ONLY,):
        sells[:] = 0.0
    if p.mode in (Mode.SELL_ONLY, Mode.TAX_LOSS_HARVEST):
        buys[:] = 0.0
    if p.mode == Mode.TAX_LOSS_HARVEST:
        sells = np.where(p.harvest | must_sell, sellable_w, 0.0)
    buys[p.excluded | p.blocked] = 0.0
    cost = u.cost[p.idx]
    cash_min = float(p.values["cash_min"])
    if p.mode == Mode.CASH_RAISE:
        short = cash_min - (p.cash0 + sells.sum() - buys.sum())
        if short > 0:
            room = sellable_w - sells
            if room.sum() > 0:
                sells += room * min(1.0, 1.01 * short / room.sum())
    turnover = float(s.max_turnover)
    forced = sells * must_sell
    rest = buys.sum() + (sells - forced).sum()
    if forced.sum() + rest > turnover and rest > 0:
        f = max(0.0, (turnover * 0.999 - forced.sum()) / rest)
        buys *= f
        sells = forced + (sells - forced) * f
    cash = p.cash0 + (sells * (1 - cost)).sum() - (buys * (1 + cost)).sum()
    if cash < cash_min and buys.sum() > 0:
        afford = p.cash0 + (sells * (1 - cost)).sum() - cash_min
        buys *= max(0.0, afford / (buys * (1 + cost)).sum())
    return buys, sells
