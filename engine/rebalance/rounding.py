"""From optimal weights to whole trades: board lots, minimum size, named lots, netted FX.

Buys round to the nearest board lot (then, if cash falls short, the largest buys are trimmed)
or down; sells round to the nearest lot or up (so a trim never leaves a cap breached) or close the
whole position; trades under the minimum size
are dropped unless they close a position. Sold quantities are relieved lot by lot in the
prepared relief order. FX: one spot trade per foreign currency, netting all its trades:
buy what the currency lacks, sweep what the proposal's sells added back to base.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.model.currency import minor_units
from engine.rebalance.book import Universe
from engine.rebalance.check import TOL_WEIGHT
from engine.rebalance.prepare import CAP_MARGIN, Prepared
from engine.rebalance.settings import FX_COST, Mode, RebalanceSettings

SELL_ALL = 0.98  # selling more than this share of a position closes it
# Trade weights below this are solver noise (a dollar per million): without it, rounding sells up
# turned a 1e-8 share "sell" into a whole board lot and sold model positions to cash (measured:
# 9.7% cash against a 1% target, and drift up, on a demo account with bonds and Tokyo lots).
NOISE = 1e-6


@dataclass
class Rounded:
    buy_qty: np.ndarray  # n
    sell_qty: np.ndarray  # n
    lot_sold: np.ndarray  # per account lot
    fx: list[tuple[str, str, float, float]] = field(default_factory=list)  # (ccy, side, amount, rate)


def round_trades(
    p: Prepared,
    u: Universe,
    s: RebalanceSettings,
    buy_w: np.ndarray,
    sell_w: np.ndarray,
    sell_up: bool = True,
    buy_nearest: bool = True,
    fx: bool = True,
) -> Rounded:
    a = p.account
    lot = u.lot_size[p.idx]
    buy_w = np.where(buy_w < NOISE, 0.0, buy_w)
    sell_w = np.where(sell_w < NOISE, 0.0, sell_w)
    raw_buy = np.maximum(buy_w, 0.0) * p.value / p.pb
    lot_w = np.asarray(p.values["lot_w"])
    sellable_lot = lot_w[p.lot_pos, p.lot_slot] > 0
    can = np.bincount(p.lot_pos, weights=np.where(sellable_lot, a.lot_qty, 0.0), minlength=p.n)
    raw_sell = np.minimum(np.maximum(sell_w, 0.0) * p.value / p.pb, can)
    buy = (np.floor(raw_buy / lot + 0.5) if buy_nearest else np.floor(raw_buy / lot + 1e-9)) * lot
    step = np.ceil(raw_sell / lot - 1e-9) if sell_up else np.floor(raw_sell / lot + 0.5)
    sell = np.minimum(step * lot, can)
    whole = np.abs(can - p.qty0) < 1e-9
    close = (raw_sell > 0) & whole & ((raw_sell >= SELL_ALL * p.qty0) | (p.excluded & ~a.keep_legacy))
    sell = np.where(close, p.qty0, sell)
    # Leftovers under one board lot after a sell cannot be sold later: close them now.
    sell = np.where((sell > 0) & whole & (p.qty0 - sell < lot - 1e-9), p.qty0, sell)
    # Off-lot remainders (a partial lot left by the sellable lots) are sold down to a board lot.
    sell = np.where(sell < p.qty0, np.floor(sell / lot + 1e-9) * lot, sell)
    closes = (sell > 0) & (np.abs(sell - p.qty0) < 1e-9)
    sell = np.where(~closes & ~_over_cap(p, u, s) & (sell * p.pb < p.min_trade), 0.0, sell)
    buy = np.where(buy * p.pb < p.min_trade, 0.0, buy)
    net = np.minimum(buy, sell)  # never buy and sell the same security
    buy, sell = buy - net, sell - net
    # Lots: relieve in the prepared order (slot order).
    lot_sold = np.zeros(len(a.lot_qty))
    order = np.lexsort((p.lot_slot, p.lot_pos))
    if len(order):
        # Each sellable lot gives what its security's sale still needs after the lots before it.
        pos = p.lot_pos[order]
        q = np.where(sellable_lot[order], a.lot_qty[order], 0.0)
        cum = np.cumsum(q)
        first = np.r_[True, pos[1:] != pos[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
        before = cum - q - (cum[start] - q[start])
        lot_sold[order] = np.clip(sell[pos] - before, 0.0, q)
    # No purchase in a wash group this proposal sells at a loss.
    loss_groups = set(u.wash_group[a.lot_sec[(lot_sold > 0) & (p.lot_gain_unit < 0)]].tolist())
    if loss_groups:
        buy = np.where(np.isin(u.wash_group[p.idx], list(loss_groups)), 0.0, buy)
    buy = _fit_cash(p, u, s, buy, sell)
    buy = _repair_buys(p, u, s, buy, sell, buy_w, loss_groups)
    return Rounded(buy, sell, lot_sold, _fx(p, u, buy, sell) if fx else [])  # fx=False: quantities only


def _over_cap(p: Prepared, u: Universe, s: RebalanceSettings) -> np.ndarray:
    """Bool over the account's securities: in a sector, country or issuer over its cap before the
    trades (the checker's rule), so a trim of it may be smaller than the minimum trade."""
    out = np.zeros(p.n, dtype=bool)
    for _kind, _lab, mask, cap in p.group_rows:
        if p.w0[mask].sum() > cap + TOL_WEIGHT:
            out |= mask
    single = u.asset_class[p.idx] != "etf"
    return out | (single & (p.w0 > s.issuer_cap + TOL_WEIGHT))


def _repair_buys(
    p: Prepared,
    u: Universe,
    s: RebalanceSettings,
    buy: np.ndarray,
    sell: np.ndarray,
    buy_w: np.ndarray,
    loss_groups: set[int],
) -> np.ndarray:
    """Add back whole board lots that rounding removed where that lowers the objective.

    Coarse board lots (Tokyo 100, Hong Kong up to 2,000 shares) can be several percent of a
    small account, so nearest-lot rounding may drop a buy the optimiser wanted. Greedily add one
    lot at a time of a model security (or one the optimiser wanted at least a quarter lot of)
    where the tracking-error term plus cost falls, within caps, while cash stays above its minimum.
    """
    if p.mode in (Mode.SELL_ONLY, Mode.TAX_LOSS_HARVEST) or u.exposures is None:
        return buy
    a = p.account
    lot = u.lot_size[p.idx]
    lot_w = lot * p.pb / p.value
    b = u.exposures[p.idx]
    spec2 = u.specific[p.idx] ** 2 if u.specific is not None else np.zeros(p.n)
    var = (b**2).sum(axis=1) + spec2
    cost = u.cost[p.idx]
    need = a.cash_floor * p.value
    if p.mode == Mode.CASH_RAISE:
        need = max(need, p.cash0 * p.value + s.cash_raise_base)
    allowed = ~p.excluded & ~p.blocked & ~np.isin(u.wash_group[p.idx], list(loss_groups))
    allowed &= (p.wm > 0) | (buy_w > 0)
    if p.frozen is not None:  # a style (min/max, tactical) forbids these
        allowed &= ~p.frozen
    if not allowed.any():
        return buy
    buy = buy.copy()
    ub = p.w_ub if p.w_ub is not None else np.full(p.n, 1.0)
    members = np.array([mask for _k, _l, mask, _c in p.group_rows], dtype=bool).reshape(-1, p.n)
    caps = np.array([cap * CAP_MARGIN for _k, _l, _m, cap in p.group_rows])
    ccy_foreign = u.currency[p.idx] != a.base
    w = p.w0 + (buy - sell) * p.pb / p.value
    traded = float(((buy + sell) * p.pb).sum()) / p.value  # the turnover cap binds the repair too
    for _ in range(20):
        d = w - p.wm
        grad = b @ (b.T @ d) + spec2 * d
        wanted = buy_w - buy * p.pb / p.value
        delta = s.risk_aversion * (2 * lot_w * grad + lot_w**2 * var) + (cost + s.trade_penalty) * lot_w
        room = ub - w
        if len(caps):
            group_room = caps - members @ w
            room = np.minimum(room, np.where(members, group_room[:, None], np.inf).min(axis=0))
        big_enough = (buy + lot) * p.pb >= p.min_trade
        ok = allowed & big_enough & ((wanted >= 0.25 * lot_w) | (p.wm > 0)) & (delta < 0) & (lot_w <= room)
        ok &= traded + lot_w <= s.max_turnover - 1e-9
        if not ok.any():
            break
        j = int(np.argmin(np.where(ok, delta, np.inf)))
        buy[j] += lot[j]
        if _cash_after(p, u, buy, sell, cost, ccy_foreign) < need:
            buy[j] -= lot[j]
            break
        w[j] += lot_w[j]
        traded += lot_w[j]
    return buy


def _cash_after(
    p: Prepared,
    u: Universe,
    buy: np.ndarray,
    sell: np.ndarray,
    cost: np.ndarray | None = None,
    foreign: np.ndarray | None = None,
) -> float:
    cost = u.cost[p.idx] if cost is None else cost
    foreign = u.currency[p.idx] != p.account.base if foreign is None else foreign
    flows = sell * p.pb * (1 - cost) - buy * p.pb * (1 + cost)
    fx_fee = np.abs(flows[foreign]).sum() * FX_COST
    return p.cash0 * p.value + float(flows.sum()) - float(fx_fee)


def _fit_cash(
    p: Prepared, u: Universe, s: RebalanceSettings, buy: np.ndarray, sell: np.ndarray
) -> np.ndarray:
    """Trim buys (largest first, one board lot at a time in bulk) until cash meets its minimum."""
    a = p.account
    need = a.cash_floor
    if p.mode == Mode.CASH_RAISE:
        need = max(need, (p.cash0 * p.value + s.cash_raise_base) / p.value)
    lot = u.lot_size[p.idx]
    buy = buy.copy()
    cost = u.cost[p.idx]
    foreign = u.currency[p.idx] != a.base
    for _ in range(200):
        cash = _cash_after(p, u, buy, sell, cost, foreign)
        short = need * p.value - cash  # p.value >= the value after costs: conservative
        if short <= 1e-6 or not buy.any():
            break
        j = int(np.argmax(buy * p.pb))
        lots_needed = np.ceil(short / (lot[j] * p.pb[j]) + 1e-9)
        buy[j] = max(0.0, buy[j] - lots_needed * lot[j])
        if buy[j] * p.pb[j] < p.min_trade:
            buy[j] = 0.0
    return buy


def _fx(p: Prepared, u: Universe, buy: np.ndarray, sell: np.ndarray) -> list[tuple[str, str, float, float]]:
    """One spot trade per foreign currency: cover what it lacks, sweep what sells added; if base
    cash would still go negative, convert existing foreign balances too."""
    a = p.account
    ccy = u.currency[p.idx]
    local = u.price[p.idx] * u.multiplier[p.idx]
    cost = u.cost[p.idx]
    fx = u.fx_to[a.base]
    flows: dict[str, float] = {}
    for c in set(ccy[(buy > 0) | (sell > 0)]):
        m = ccy == c
        flows[c] = float(
            (sell[m] * local[m] * (1 - cost[m])).sum() - (buy[m] * local[m] * (1 + cost[m])).sum()
        )
    after = {c: a.cash.get(c, 0.0) + flows.get(c, 0.0) for c in set(a.cash) | set(flows)}
    amounts: dict[str, float] = {}
    for c in sorted(set(after) - {a.base}):
        q = 10.0 ** -minor_units(c)
        if after[c] < 0:
            amounts[c] = float(np.ceil(-after[c] / q - 1e-9) * q)
        elif flows.get(c, 0.0) > 0:
            amounts[c] = -float(np.floor(min(flows[c], after[c]) / q + 1e-9) * q)
    base_after = after.get(a.base, 0.0) - sum(
        v * fx[c] + abs(v) * fx[c] * FX_COST for c, v in amounts.items()
    )
    for c in sorted(set(after) - {a.base}, key=lambda c: -after[c] * fx[c]):
        if base_after >= 0:
            break
        q = 10.0 ** -minor_units(c)
        spare = after[c] + amounts.get(c, 0.0)  # foreign cash left after this proposal's FX
        if spare <= 0:
            continue
        want = (np.ceil(-base_after / (fx[c] * (1 - FX_COST)) / q) + 1) * q
        take = float(min(np.floor(spare / q + 1e-9) * q, want))
        amounts[c] = amounts.get(c, 0.0) - take
        base_after += take * fx[c] * (1 - FX_COST)
    out = []
    for c, v in sorted(amounts.items()):
        if abs(v) > 0:
            out.append((c, "buy" if v > 0 else "sell", round(abs(v), minor_units(c)), fx[c]))
    return out
