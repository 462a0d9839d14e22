"""Why a proposal leaves more drift than it found: a named reason on the record (`drift_note`).

Drift in the record is measured against the model as published. Measured on the demo book, every
proposal that ended with more total or maximum drift than before sold securities the account may
not hold (client exclusions, excluded sectors, ESG screens, eligibility): their model weight can
only be replaced by eligible holdings, so drift against the published model grows while drift
against the account's effective target (the model with its exclusions re-spread over the eligible
names, `heuristic.target_weights`) and the tracking error fall. The note names that, and every
other legitimate cause found (tax, wash sales, board lots and minimum size, cash floor, turnover
cap, the run's mode, the heuristic rung, the tracking-error trade-off), in that order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from engine.rebalance.book import Universe
from engine.rebalance.heuristic import target_weights
from engine.rebalance.prepare import Prepared
from engine.rebalance.rounding import Rounded
from engine.rebalance.settings import Mode, RebalanceSettings
from engine.rebalance.styles import style_note

TOL = 1e-6
# Runs that are not a full rebalance: what they may not do is a reason in itself.
MODE_NOTES: dict[Mode, Callable[[RebalanceSettings, str], str]] = {
    Mode.CASH_RAISE: lambda s, base: f"cash raise: {s.cash_raise_base:,.0f} {base} is raised to cash",
    Mode.BUY_ONLY: lambda s, base: "buy-only run: overweights are not sold",
    Mode.SELL_ONLY: lambda s, base: "sell-only run: underweights are not bought",
    Mode.TAX_LOSS_HARVEST: lambda s, base: "tax-loss harvest run: harvests and substitutes only",
}


def total_and_max(drift: dict[str, float]) -> tuple[float, float]:
    """(total drift = half the sum of absolute drifts, largest absolute drift) of a record side."""
    vals = [abs(v) for v in drift.values()]
    return sum(vals) / 2, max(vals, default=0.0)


def effective_drift(p: Prepared, s: RebalanceSettings, w: np.ndarray, cash: float) -> dict[str, float]:
    """Total and maximum drift against the effective target (securities and cash in one)."""
    t = target_weights(p, s)
    d = np.r_[w - t, cash - (1.0 - t.sum())]
    return {"total": round(float(np.abs(d).sum() / 2), 8), "max": round(float(np.abs(d).max()), 8)}


def drift_note(
    p: Prepared,
    u: Universe,
    s: RebalanceSettings,
    r: Rounded,
    rung: str | None,
    before: dict[str, Any],
    after: dict[str, Any],
    turnover: float,
    cash_after: float,
) -> str | None:
    """None when the proposal leaves total and maximum drift no worse; else every reason found,
    joined by '; ' (never empty: an unexplained increase says so)."""
    tb, mb = total_and_max(before["drift"])
    ta, ma = total_and_max(after["drift"])
    if ta <= tb + TOL and ma <= mb + TOL:
        return None
    a = p.account
    sym = u.symbols[p.idx]
    w1 = (p.qty0 + r.buy_qty - r.sell_qty) * p.pb / p.value
    t = target_weights(p, s)
    notes: list[str] = []
    forced = np.flatnonzero(p.excluded & (r.sell_qty > 0))
    if len(forced):
        gone = float(p.wm[p.excluded].sum())
        why = sorted({a.exclusion_reason.get(int(p.idx[k]), "excluded") for k in forced})
        names = ", ".join(str(sym[k]) for k in forced[:4]) + (" ..." if len(forced) > 4 else "")
        notes.append(
            f"forced sale: {names} ({', '.join(why)}) may not be held, so {gone:.2%} of the model goes "
            "to eligible holdings and drift against the published model grows"
        )
    over = w1 - t
    tax = gains = short = 0.0
    for k in np.flatnonzero(over > max(a.band, TOL)).tolist():
        # What selling the excess would realise, lots in the account's relief order.
        lots = np.flatnonzero(p.lot_pos == k)
        lots = lots[np.argsort(p.lot_slot[lots])]
        left = over[k] * p.value / p.pb[k]
        for j in lots.tolist():
            q = min(left, float(p.account.lot_qty[j] - r.lot_sold[j]))
            if q <= 0:
                continue
            tax += max(q * float(p.lot_tax_unit[j]), 0.0)
            g = max(q * float(p.lot_gain_unit[j]), 0.0)
            gains += g
            short += 0.0 if p.lot_long[j] else g
            left -= q
    if tax > 0:
        budget = ""
        if s.gains_budget_base is not None:
            budget = f" (tax budget: realised gains capped at {s.gains_budget_base:,.0f} {a.base})"
        notes.append(
            f"tax: selling the overweights would realise {gains:,.0f} {a.base} of gains "
            f"({short:,.0f} short-term), about {tax:,.0f} {a.base} of tax{budget}"
        )
    if p.mode in MODE_NOTES:
        notes.append(MODE_NOTES[p.mode](s, a.base))
    style = style_note(s) if p.frozen is not None else None
    if style:
        notes.append(style)
    under = t - w1
    blocked = np.flatnonzero(p.blocked & ~p.excluded & (under > a.band))
    if len(blocked):
        notes.append(
            "wash sale: " + ", ".join(str(sym[k]) for k in blocked[:4]) + " may not be bought back yet"
        )
    lot_w = u.lot_size[p.idx] * p.pb / p.value
    small = np.flatnonzero(
        (np.abs(w1 - t) > a.band) & ((lot_w > a.band / 2) | (p.min_trade / p.value > a.band / 2))
    )
    if len(small):
        notes.append(
            "board lots / minimum trade: " + ", ".join(str(sym[k]) for k in small[:4]) + " cannot trade finer"
        )
    if cash_after <= a.cash_floor + 1e-4 and (under > a.band).any():
        notes.append(f"cash floor: cash is at its floor {a.cash_floor:.2%}; underweights stay")
    if s.max_turnover < 1.0 and turnover >= s.max_turnover - 1e-4:
        notes.append(f"turnover cap {s.max_turnover:.0%} reached")
    if rung == "heuristic":
        notes.append("heuristic rung: the optimiser's result failed a check, so a proportional move was used")
    te0, te1 = before["tracking_error"], after["tracking_error"]
    if te1 < te0 - 1e-9:
        notes.append(f"tracking error falls {te0:.2%} -> {te1:.2%} (the optimiser's target)")
    if not notes:
        notes.append(f"unexplained: total drift {tb:.2%} -> {ta:.2%}, max {mb:.2%} -> {ma:.2%}")
    return "; ".join(notes)
