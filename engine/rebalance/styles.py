"""Rebalance styles as restrictions of the one optimiser: min/max and tactical (and gains deferral).

A style never changes the objective; it narrows what the account's QP may trade by setting
prepare's arrays (buy bounds, sellable lot weights, bands), so every rung, the rounding and the
exact check work as for a full rebalance:

* **min/max** (`Style.MINMAX`): only positions outside their band trade; a hard rule counts as
  outside (an excluded holding is sold, a holding over a sector/country/issuer cap is trimmed). An underweight may buy up to the band edge (`minmax_to="edge"`)
  or to its model weight (`"target"`); an overweight may sell down to the edge or to target (its
  sellable lot weights are cut, in relief order, to exactly that excess). Positions inside their
  band are frozen. Cash absorbs the trades (its floor stays); cash below its floor is out of band
  too, and then in-band overweights may also sell, down to their model weight at most.
* **tactical** (`Style.TACTICAL`): only the sleeve's securities trade (their asset class or sector
  is one of `settings.sleeve`); every other position is frozen, even one over its band, except a
  a hard rule makes trade (an exclusion is sold, a cap breach trimmed; the note says so).

Frozen positions get no buy, no sellable lot and an unbounded band (they cannot move), and the
rounding's board-lot repair never adds to them (`Prepared.frozen`). `check` re-checks the rounded
trades against the style, so a violation can never be `ok`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.rebalance.book import Universe
from engine.rebalance.buckets import RELAXED_BAND
from engine.rebalance.check import Outcome, Violation
from engine.rebalance.deferral import deferred_lots
from engine.rebalance.prepare import BIG, Prepared
from engine.rebalance.rounding import Rounded
from engine.rebalance.rounding import _over_cap as over_cap
from engine.rebalance.settings import RebalanceSettings, Style

TOL = 1e-9
EXACT_BAND = 1e-6  # min/max to target: the traded positions' band around their model weight


@dataclass
class StylePlan:
    """What the style (and deferral) left the account free to trade."""

    style: Style
    frozen: np.ndarray  # bool over n: may not trade
    deferred: np.ndarray  # bool per lot: held back by gains deferral
    idle: str | None = None  # nothing the style may trade: why


def style_note(s: RebalanceSettings) -> str | None:
    """The drift note's words for the run's style (None for a standard run)."""
    if s.style == Style.MINMAX:
        return f"min/max run: positions inside their band are not traded (to the {s.minmax_to})"
    if s.style == Style.TACTICAL:
        return f"tactical run: only the {', '.join(s.sleeve)} sleeve is traded; other positions untouched"
    return None


def forced(p: Prepared, u: Universe, s: RebalanceSettings) -> np.ndarray:
    """Bool over n: positions a hard rule makes trade whatever the style: an excluded holding
    (sold) or a holding in a sector, country or issuer over its cap (trimmed)."""
    must_sell = p.excluded & (p.qty0 > 0) & (not p.account.keep_legacy)
    return must_sell | (over_cap(p, u, s) & (p.qty0 > 0))


def out_of_band(p: Prepared) -> np.ndarray:
    """Bool over n: positions whose drift exceeds the account's band."""
    return np.abs(p.w0 - p.wm) > p.account.band + TOL


def in_sleeve(p: Prepared, u: Universe, sleeve: tuple[str, ...]) -> np.ndarray:
    """Bool over n: securities whose asset class or sector is in the sleeve."""
    labels = list(sleeve)
    return np.isin(u.asset_class[p.idx], labels) | np.isin(u.sector[p.idx], labels)


def _cap_sells(p: Prepared, lot_w: np.ndarray, k: int, amount: float) -> None:
    """Cut security k's sellable lot weights, in relief (slot) order, to `amount` in total."""
    left = amount
    for j in np.argsort(lot_w[k] == 0, kind="stable"):  # slots in order, sellable first
        take = min(lot_w[k, j], max(left, 0.0))
        lot_w[k, j] = take
        left -= take


def apply(p: Prepared, u: Universe, s: RebalanceSettings) -> StylePlan | None:
    """Restrict the prepared account to the run's style and gains deferral (in place); None when
    neither applies."""
    deferred = deferred_lots(p, u, s) if s.defer_gains_days > 0 else np.zeros(len(p.lot_pos), dtype=bool)
    if s.style in (Style.STANDARD, Style.DIRECTED) and not deferred.any():
        return None
    n = p.n
    v = p.values
    buy_ub = np.array(v["buy_ub"], dtype=float, copy=True)
    lot_w = np.array(v["lot_w"], dtype=float, copy=True)
    band = np.array(v["band"], dtype=float, copy=True)
    d_ub = np.array(v["d_ub"], dtype=float, copy=True)
    if deferred.any():
        lot_w[p.lot_pos[deferred], p.lot_slot[deferred]] = 0.0
        # An overweight whose every sellable lot is deferred may stay overweight.
        can_sell = np.zeros(n, dtype=bool)
        can_sell[p.lot_pos[lot_w[p.lot_pos, p.lot_slot] > 0]] = True
        over = p.w0 - p.wm
        band[:n] = np.where(~can_sell & (over > band[:n]), over + 1e-6, band[:n])
    frozen = np.zeros(n, dtype=bool)
    idle = None
    if s.style == Style.MINMAX:
        hard = forced(p, u, s)
        out = out_of_band(p) | hard
        frozen = ~out
        gap = p.w0 - p.wm
        for k in np.flatnonzero(out).tolist():
            if hard[k]:
                continue  # a forced sale or trim: the optimiser decides how much
            edge = p.account.band if s.minmax_to == "edge" else 0.0
            if gap[k] < 0:
                buy_ub[k] = min(buy_ub[k], -gap[k] - edge)
                lot_w[k] = 0.0
                if p.w_ub is not None:  # the board-lot repair after rounding stops there too
                    p.w_ub[k] = min(p.w_ub[k], p.wm[k] - edge)
            else:
                _cap_sells(p, lot_w, k, gap[k] - edge)
                buy_ub[k] = 0.0
            if s.minmax_to == "target":
                band[k] = EXACT_BAND
        if p.cash0 < p.account.cash_floor:  # cash is out of band too: overweights fund it, to target at most
            for k in np.flatnonzero(frozen & (gap > 0)).tolist():
                frozen[k] = False
                _cap_sells(p, lot_w, k, gap[k])
                buy_ub[k] = 0.0
        if not out.any():
            idle = f"min/max: every position is inside its band ({p.account.band:.2%}); nothing to trade"
    elif s.style == Style.TACTICAL:
        frozen = ~in_sleeve(p, u, s.sleeve) & ~forced(p, u, s)  # hard rules still apply
        if frozen.all():
            idle = (
                f"tactical: the account holds nothing of the {', '.join(s.sleeve)} sleeve and its model none"
            )
    buy_ub[:n][frozen] = 0.0
    lot_w[:n][frozen] = 0.0
    band[:n][frozen] = RELAXED_BAND
    d_ub[:n][frozen] = BIG
    v.update(buy_ub=buy_ub, lot_w=lot_w, band=band, d_ub=d_ub)
    if s.style in (Style.MINMAX, Style.TACTICAL):
        v["cash_band"] = RELAXED_BAND  # cash absorbs the style's trades (its floor stays)
    p.frozen = frozen
    return StylePlan(s.style, frozen, deferred, idle)


def mask(plan: StylePlan | None, buy_w: np.ndarray, sell_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The heuristic's weights without trades the style forbids."""
    if plan is None:
        return buy_w, sell_w
    return np.where(plan.frozen, 0.0, buy_w), np.where(plan.frozen, 0.0, sell_w)


def check(plan: StylePlan | None, p: Prepared, u: Universe, r: Rounded, out: Outcome) -> Outcome:
    """The exact check plus the style's rule: no trade in a frozen position, no deferred lot sold."""
    if plan is None:
        return out
    extra: list[Violation] = []
    moved = np.flatnonzero(plan.frozen & ((r.buy_qty > 0) | (r.sell_qty > 0)))
    if len(moved):
        names = ", ".join(str(x) for x in u.symbols[p.idx[moved[:4]]])
        extra.append(Violation(f"style {plan.style}", f"{names} may not trade in this run"))
    sold = np.flatnonzero(plan.deferred & (r.lot_sold > 0))
    if len(sold):
        extra.append(
            Violation("gains deferral", f"lot {int(p.account.lot_id[sold[0]])} turns long-term soon")
        )
    if not extra:
        return out
    return Outcome(
        out.violations + tuple(extra), out.holdings, out.cash, out.value_base, out.turnover,
        out.realized_gain_base, out.cost_base,
    )  # fmt: skip
