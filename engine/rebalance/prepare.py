"""Turn one account into the optimiser's arrays: its universe, weights, lot slots and bounds.

Every number is a fraction of the account's pre-trade value V in its base currency.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.corporate.pending import PendingAction
from engine.pricing.staleness import StaleItem
from engine.rebalance import harvest as tlh
from engine.rebalance.book import AccountInput, Universe
from engine.rebalance.buckets import GROUP_BUCKETS, RELAXED_BAND, bucket
from engine.rebalance.settings import Mode, RebalanceSettings
from engine.rebalance.taxes import gain_per_unit, is_long_term, lot_tax_per_unit, rates_for

CAP_MARGIN = 0.998  # caps are enforced a little inside, so costs and rounding never cross them
BIG = 10.0


@dataclass
class Prepared:
    """One account in optimiser form (n real securities, padded to the problem shape)."""

    account: AccountInput
    mode: Mode
    idx: np.ndarray  # universe indices of the n securities
    value: float
    pb: np.ndarray  # price in base per unit
    qty0: np.ndarray
    w0: np.ndarray
    wm: np.ndarray
    cash0: float  # fraction of V
    lot_pos: np.ndarray  # per account lot: position in idx
    lot_slot: np.ndarray  # per account lot: slot number
    lot_tax_unit: np.ndarray  # signed estimated tax per unit sold (base)
    lot_gain_unit: np.ndarray
    lot_long: np.ndarray
    slots: int
    excluded: np.ndarray  # bool over n
    blocked: np.ndarray  # bool over n: no buy (wash sale)
    harvest: np.ndarray  # bool over n: TLH sells loss lots here, so no buy
    harvest_lot: np.ndarray  # bool per lot: TLH harvests it (engine.rebalance.harvest)
    substitute: np.ndarray  # int over n: position of the security a harvest of it buys, or -1
    group_rows: list[tuple[str, str, np.ndarray, float]]  # (kind, label, member mask, cap)
    values: dict[str, np.ndarray | float] = field(default_factory=dict)
    n_pad: int = 0
    k_pad: int = 0
    w_ub: np.ndarray | None = None
    min_trade: float = 0.0  # base currency
    frozen: np.ndarray | None = None  # bool over n: a style forbids trading it (engine.rebalance.styles)

    @property
    def n(self) -> int:
        return len(self.idx)


def relief_order(
    a: AccountInput, tax_unit: np.ndarray, unit_cost_base: np.ndarray, harvest: bool
) -> np.ndarray:
    """Lot order for sells: the account's relief method; min_tax/specific (and harvests) by least tax."""
    acq = a.lot_acquired.astype("datetime64[D]").astype(np.int64)
    if harvest or a.relief in ("min_tax", "specific"):
        key = tax_unit
    elif a.relief == "lifo":
        key = -acq.astype(float)
    elif a.relief == "hifo":
        key = -unit_cost_base
    else:
        key = acq.astype(float)
    return np.lexsort((a.lot_id, key, a.lot_sec))


def suspension(u: Universe, a: AccountInput) -> list[StaleItem | PendingAction]:
    """The stale prices and FX rates that suspend the account: prices of the securities it holds
    or its model holds (a solve would sell or buy at them), rates of every currency it needs when
    it holds more than its base currency; and the unbooked corporate actions on the securities it
    holds (engine.corporate.pending). Empty: the account may be solved."""
    out: list[StaleItem | PendingAction] = []
    if u.pending:
        for i in np.unique(a.lot_sec):
            out += u.pending.get(int(i), [])
    if not u.stale and not u.stale_fx:
        return out
    model = u.models.get(a.model_id or -1)
    idx = np.union1d(np.unique(a.lot_sec), np.flatnonzero(model > 0) if model is not None else []).astype(int)
    out += [u.stale[int(i)] for i in idx if int(i) in u.stale]
    ccys = set(u.currency[idx]) | {c for c, amt in a.cash.items() if amt} | {a.base}
    if len(ccys) > 1:
        out += [u.stale_fx[c] for c in sorted(ccys) if c in u.stale_fx]
    return out


def suspended_reason(items: list[StaleItem | PendingAction]) -> str:
    """`suspended: stale price for X (last 2026-11-27, expected 2026-12-04); ...` or
    `suspended: pending corporate action REF (split, ex 2026-12-08) on X: not booked`."""
    return "suspended: " + "; ".join(i.reason() for i in items)


def prepare(u: Universe, a: AccountInput, s: RebalanceSettings, pb_all: np.ndarray) -> Prepared:
    mode = s.mode
    min_trade = s.min_trade_usd * u.fx_to[a.base]["USD"]
    model = u.models.get(a.model_id or -1)
    if model is None:
        model = np.zeros(len(u.ids))
    idx = np.union1d(np.unique(a.lot_sec), np.flatnonzero(model > 0)).astype(int)
    subs = np.full(len(u.ids), -1, dtype=int)
    if mode == Mode.TAX_LOSS_HARVEST:  # a harvest buys the position's substitute: give it a variable
        subs = tlh.substitute_groups(u, s.substitutes_file)
        idx = np.union1d(idx, tlh.substitute_candidates(u, subs, np.unique(a.lot_sec))).astype(int)
    n = len(idx)
    pb = pb_all[idx]
    lot_pos = np.searchsorted(idx, a.lot_sec).astype(int)  # idx is sorted and holds every lot's security
    qty0 = np.bincount(lot_pos, weights=a.lot_qty, minlength=n)
    fx = u.fx_to[a.base]
    cash_base = sum(amt * fx[c] for c, amt in a.cash.items())
    value = float(qty0 @ pb + cash_base)
    if value <= 0:
        value = 1.0
    w0 = qty0 * pb / value
    wm = model[idx] * (1.0 - a.cash_target)
    # Lots: gains, tax, relief order, slots.
    rates = rates_for(a.jurisdiction, a.tax_status)
    lot_pb = pb_all[a.lot_sec]
    gain = gain_per_unit(lot_pb, a.lot_cost, u.multiplier[a.lot_sec], a.lot_fx)
    long = is_long_term(a.lot_acquired, u.as_of)
    tax = lot_tax_per_unit(gain, long, rates)
    # Harvests and accounts under a tax budget relieve least-tax lots first (specific lots on release),
    # so the tax the solve counted is the proposal's.
    budgeted = a.year is not None and a.year.cap() is not None
    order = relief_order(
        a, tax, a.lot_cost * u.multiplier[a.lot_sec] * a.lot_fx, mode == Mode.TAX_LOSS_HARVEST or budgeted
    )
    # Slot = rank of the lot within its security in relief order (the order groups by security).
    slot = np.zeros(len(a.lot_sec), dtype=int)
    if len(order):
        grouped = lot_pos[order]
        first = np.r_[True, grouped[1:] != grouped[:-1]]
        starts = np.flatnonzero(first)
        rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
        slot[order] = rank
    slots = int(slot.max()) + 1 if len(order) else 1
    excluded = np.isin(idx, a.excluded) | np.isin(u.symbols[idx], list(s.exclude_symbols))
    groups = u.wash_group[idx]
    blocked_groups = set(a.wash_blocked)
    blocked = np.isin(groups, list(blocked_groups))
    harvest = np.zeros(n, dtype=bool)
    harvest_lot = np.zeros(len(a.lot_qty), dtype=bool)
    substitute = np.full(n, -1, dtype=int)
    if mode == Mode.TAX_LOSS_HARVEST:
        harvest, harvest_lot, substitute = tlh.plan(
            u, a, s, subs[idx], idx, lot_pos, gain, pb, value, w0 - wm, ~excluded & ~blocked
        )
        # Not substantially identical: no buy anywhere in a harvested security's wash group.
        blocked |= np.isin(groups, groups[harvest])
    rows: list[tuple[str, str, np.ndarray, float]] = []
    for kind, attr, default in (("sector", u.sector, s.sector_cap), ("country", u.country, s.country_cap)):
        labels = attr[idx]
        for lab in sorted(set(labels)):
            cap = s.sector_caps.get(lab, default) if kind == "sector" else default
            if cap is not None and cap < 1.0:
                rows.append((kind, str(lab), labels == lab, float(cap)))
    # Issuer caps apply to single-name securities; a fund family's ETFs are diversified funds.
    issuers = np.where(u.asset_class[idx] == "etf", "", u.issuer[idx])
    uniq, counts = np.unique(issuers[issuers != ""], return_counts=True)
    for lab in uniq[counts > 1]:
        rows.append(("issuer", str(lab), issuers == lab, s.issuer_cap))
    prep = Prepared(
        account=a, mode=mode, idx=idx, value=value, pb=pb, qty0=qty0, w0=w0, wm=wm,
        cash0=cash_base / value, lot_pos=lot_pos, lot_slot=slot, lot_tax_unit=tax,
        lot_gain_unit=gain, lot_long=long, slots=slots, excluded=excluded, blocked=blocked,
        harvest=harvest, harvest_lot=harvest_lot, substitute=substitute, group_rows=rows,
        min_trade=min_trade,
    )  # fmt: skip
    _fill_values(prep, u, a, s)
    return prep


def late_settling(p: Prepared, u: Universe, s: RebalanceSettings) -> np.ndarray:
    """Bool over the account's securities: in a cash raise by a date, sales that settle later
    cannot fund it, so they are not sold in this run."""
    if p.mode != Mode.CASH_RAISE or s.cash_raise_by is None:
        return np.zeros(p.n, dtype=bool)
    if u.settle is None:
        raise ValueError("cash raise by a date needs settlement dates (book.attach_settlement)")
    return u.settle[p.idx] > np.datetime64(s.cash_raise_by, "D")


def _fill_values(p: Prepared, u: Universe, a: AccountInput, s: RebalanceSettings) -> None:
    n = p.n
    n_pad = n  # the problem pads to its own buckets (problem.RebalanceProblem.set_values)
    L = max(p.slots, 1)
    K = bucket(max(len(p.group_rows), 1), GROUP_BUCKETS)
    k = u.exposures.shape[1] if u.exposures is not None else 1
    p.n_pad, p.k_pad = n_pad, K

    def pad(x: np.ndarray, fill: float = 0.0) -> np.ndarray:
        out = np.full(n_pad, fill)
        out[:n] = x
        return out

    mode = p.mode
    lot_w = np.zeros((n_pad, L))
    tax = np.zeros((n_pad, L))
    gain = np.zeros((n_pad, L))
    pbl = p.pb[p.lot_pos]
    lw = a.lot_qty * pbl / p.value
    tax_frac = p.lot_tax_unit / pbl
    gain_frac = p.lot_gain_unit / pbl
    sellable = np.ones(len(lw), dtype=bool)
    if mode == Mode.BUY_ONLY:
        sellable[:] = False
    late = late_settling(p, u, s)
    sellable &= ~late[p.lot_pos]
    if mode == Mode.TAX_LOSS_HARVEST:
        # Harvest: only loss lots not bought in the household within 30 days; other sells only
        # where the security is excluded.
        over = np.zeros(n, dtype=bool)
        for _kind, _lab, mask, cap in p.group_rows:
            if p.w0[mask].sum() > cap * CAP_MARGIN:
                over |= mask
        over |= p.w0 > s.issuer_cap * CAP_MARGIN
        sellable = p.harvest_lot | p.excluded[p.lot_pos] | over[p.lot_pos]
        tax_coef = tax_frac
    else:
        tax_coef = np.maximum(tax_frac, 0.0)  # a loss never pays for a round trip
    lot_w[p.lot_pos, p.lot_slot] = np.where(sellable, lw, 0.0)
    tax[p.lot_pos, p.lot_slot] = tax_coef
    gain[p.lot_pos, p.lot_slot] = gain_frac
    buy_ub = np.where(p.excluded | p.blocked, 0.0, BIG)
    if mode == Mode.TAX_LOSS_HARVEST:  # a harvest buys only the harvested positions' substitutes
        buy_ub[~np.isin(np.arange(n), p.substitute[p.substitute >= 0])] = 0.0
    if mode == Mode.SELL_ONLY:
        buy_ub[:] = 0.0
    w_ub = np.full(n, BIG)
    legacy = p.excluded & a.keep_legacy
    w_ub[p.excluded] = 0.0
    w_ub[legacy] = p.w0[legacy]
    issuer_single = np.ones(n, dtype=bool)
    for kind, _lab, mask, _cap in p.group_rows:
        if kind == "issuer":
            issuer_single &= ~mask
    issuer_single &= u.asset_class[p.idx] != "etf"
    w_ub = np.where(issuer_single, np.minimum(w_ub, max(s.issuer_cap * CAP_MARGIN, 0.0)), w_ub)
    groups = np.zeros((K, n_pad))
    caps = np.ones(K) * BIG
    for r, (_kind, _lab, mask, cap) in enumerate(p.group_rows):
        groups[r, :n] = mask
        caps[r] = cap * CAP_MARGIN
    cash_min = a.cash_floor
    cash_max = BIG
    if mode == Mode.CASH_RAISE:
        cash_min = max(cash_min, p.cash0 + s.cash_raise_base / p.value)
    if mode == Mode.CASH_DEPLOY:
        cash_max = max(a.cash_target, a.cash_floor) + 0.0025
    # Per-security band: the account's drift band, widened where the bound makes it unreachable.
    band = np.full(n, a.band)
    can_buy = buy_ub > 0
    can_sell = np.zeros(n, dtype=bool)
    can_sell[p.lot_pos[lot_w[p.lot_pos, p.lot_slot] > 0]] = True
    under = p.wm - p.w0
    band = np.where(~can_buy & (under > band), under + 1e-6, band)
    band = np.where(~can_sell & (-under > band), -under + 1e-6, band)
    band = np.where(w_ub < p.wm - band, p.wm - w_ub + 1e-6, band)
    if mode == Mode.TAX_LOSS_HARVEST:  # a harvest and its substitute move as far as tax and TE say
        swap = p.harvest.copy()
        swap[p.substitute[p.substitute >= 0]] = True
        band = np.where(swap, RELAXED_BAND, band)
    exposures = np.zeros((k, n_pad))
    if u.exposures is not None:
        exposures[:, :n] = u.exposures[p.idx].T
    spec = pad(u.specific[p.idx] if u.specific is not None else np.full(n, 0.2))
    gb = s.gains_budget_base / p.value if s.gains_budget_base is not None else BIG
    p.w_ub = w_ub
    p.values = {
        "w0": pad(p.w0),
        "wm": pad(p.wm),
        "bt": exposures,
        "spec2": spec**2,
        "cost": pad(u.cost[p.idx]),
        "tax": tax,
        "gain": gain,
        "lot_w": lot_w,
        "buy_ub": pad(buy_ub),
        "d_ub": pad(w_ub - p.wm),
        "groups": groups,
        "caps": caps - groups[:, :n] @ p.wm,
        "c0": p.cash0,
        "ct": a.cash_target,
        "cash_min": cash_min,
        "cash_max": cash_max,
        "turnover": s.max_turnover,
        "gains_budget": gb,
        "band": pad(band, RELAXED_BAND),
        "cash_band": RELAXED_BAND
        if mode in (Mode.CASH_RAISE, Mode.SELL_ONLY, Mode.TAX_LOSS_HARVEST)
        else max(a.band, abs(p.cash0 - a.cash_target) if mode == Mode.BUY_ONLY else a.band),
    }
