"""Brinson-Fachler attribution per day, linked over the period with Carino's log smoothing.

Inputs are dates x segments frames of start-of-day weights (each row sums to 1, cash included)
and daily contributions (weight x return) in local currency and in base currency, for the
portfolio and for its benchmark. Per day, with local segment returns r = c / w:

    allocation_i  = (wp_i - wb_i) (rb_i - Rb_local)
    selection_i   = wb_i (rp_i - rb_i)
    interaction_i = (wp_i - wb_i) (rp_i - rb_i)
    currency_i    = (cp_base_i - cp_local_i) - (cb_base_i - cb_local_i)

so that sum_i (A + S + I + C) = Rp_t - Rb_t exactly (base-currency daily returns). The daily
effects are linked with Carino factors k_t / K, k_t = ln((1+Rp_t)/(1+Rb_t)) / (Rp_t - Rb_t)
(1 / (1 + Rp_t) when equal), K likewise over the period, so that the linked effects sum to the
arithmetic active return Rp - Rb of the period, Rp and Rb the geometrically linked returns.

Conventions: a benchmark segment with no weight takes its known return if the input gives one
(`rb_empty`: the report gives cash 0, so holding cash the model does not is an allocation effect,
cash drag), else the benchmark's total local return that day (no allocation effect; what the
portfolio earns there is interaction); a portfolio segment
with no weight (|w| <= 1e-12) takes the benchmark segment's return, and any contribution it still
has (e.g. income landing on a zero cash balance) is counted as selection.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.analytics.errors import AnalyticsError

EPS = 1e-12
EFFECTS = ("allocation", "selection", "interaction", "currency")


@dataclass(frozen=True)
class AttributionInput:
    """Daily start-of-day weights and contributions, dates x segments (same index and columns)."""

    wp: pd.DataFrame
    wb: pd.DataFrame
    cp_local: pd.DataFrame
    cb_local: pd.DataFrame
    cp_base: pd.DataFrame
    cb_base: pd.DataFrame
    # Local benchmark return of a segment on days it has no benchmark weight, where one is known
    # (cash at zero); others take the benchmark's total local return that day.
    rb_empty: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Attribution:
    """Linked effects per segment and period totals (returns as fractions, base currency)."""

    segments: pd.DataFrame  # index segment; wp, wb, rp, rb, allocation, selection, interaction, currency
    portfolio_return: float
    benchmark_return: float
    daily: pd.DataFrame  # dates x (Rp, Rb, Rp_local, Rb_local, allocation, ..., currency), unlinked

    @property
    def active_return(self) -> float:
        return self.portfolio_return - self.benchmark_return

    def local_returns(self) -> tuple[float, float]:
        """(portfolio, benchmark) local-currency returns, daily local returns linked geometrically."""
        d = self.daily
        return float(np.prod(1 + d["Rp_local"]) - 1), float(np.prod(1 + d["Rb_local"]) - 1)

    @property
    def totals(self) -> dict[str, float]:
        return {e: float(self.segments[e].sum()) for e in EFFECTS}

    @property
    def residual(self) -> float:
        """Active return minus the sum of the linked effects (zero up to rounding with Carino)."""
        return self.active_return - sum(self.totals.values())


def brinson_fachler(
    wp: np.ndarray, wb: np.ndarray, rp: np.ndarray, rb: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Single-period (allocation, selection, interaction) per segment; weights sum to 1 on each side."""
    total_b = float(np.dot(wb, rb))
    return (wp - wb) * (rb - total_b), wb * (rp - rb), (wp - wb) * (rp - rb)


def carino_factors(rp: np.ndarray, rb: np.ndarray) -> np.ndarray:
    """k_t / K for daily returns rp, rb (arrays); linked effects are sum_t (k_t / K) e_t."""
    if np.any(rp <= -1) or np.any(rb <= -1):
        raise AnalyticsError("Carino linking needs daily returns above -100%")

    def k(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        diff = a - b
        same = np.abs(diff) < 1e-15
        logd = np.log1p(a) - np.log1p(b)
        return np.where(same, 1.0 / (1.0 + a), logd / np.where(same, 1.0, diff))

    big = k(np.prod(1 + rp) - 1, np.prod(1 + rb) - 1)
    return k(rp, rb) / big


def _check(x: AttributionInput) -> None:
    frames = (x.wp, x.wb, x.cp_local, x.cb_local, x.cp_base, x.cb_base)
    for f in frames[1:]:
        if not (f.index.equals(x.wp.index) and list(f.columns) == list(x.wp.columns)):
            raise AnalyticsError("attribution inputs must share their dates and segments")
    for name, w in (("portfolio", x.wp), ("benchmark", x.wb)):
        s = w.sum(axis=1).to_numpy()
        bad = np.abs(s - 1.0) > 1e-9
        if bad.any():
            i = int(np.argmax(bad))
            raise AnalyticsError(f"{name} weights on {w.index[i]} sum to {s[i]:.12g}, not 1")


def attribute(x: AttributionInput) -> Attribution:
    """Daily Brinson-Fachler with a currency effect, linked with Carino (module docstring)."""
    _check(x)
    wp, wb = x.wp.to_numpy(float), x.wb.to_numpy(float)
    cpl, cbl = x.cp_local.to_numpy(float), x.cb_local.to_numpy(float)
    cpb, cbb = x.cp_base.to_numpy(float), x.cb_base.to_numpy(float)
    rb_total_l = cbl.sum(axis=1, keepdims=True)
    fallback = np.where(
        [c in x.rb_empty for c in x.wp.columns], [x.rb_empty.get(c, 0.0) for c in x.wp.columns], rb_total_l
    )
    rb_seg = np.where(np.abs(wb) > EPS, cbl / np.where(np.abs(wb) > EPS, wb, 1.0), fallback)
    held = np.abs(wp) > EPS
    rp_seg = np.where(held, cpl / np.where(held, wp, 1.0), rb_seg)
    alloc = (wp - wb) * (rb_seg - rb_total_l)
    select = wb * (rp_seg - rb_seg) + np.where(held, 0.0, cpl)
    inter = (wp - wb) * (rp_seg - rb_seg)
    ccy = (cpb - cpl) - (cbb - cbl)
    rp_t, rb_t = cpb.sum(axis=1), cbb.sum(axis=1)
    if len(rp_t) == 0:
        raise AnalyticsError("attribution needs at least one day")
    f = carino_factors(rp_t, rb_t)[:, None]
    segs = pd.DataFrame(
        {
            "wp": wp.mean(axis=0),
            "wb": wb.mean(axis=0),
            "rp": np.prod(1 + rp_seg, axis=0) - 1,
            "rb": np.prod(1 + rb_seg, axis=0) - 1,
            "allocation": (f * alloc).sum(axis=0),
            "selection": (f * select).sum(axis=0),
            "interaction": (f * inter).sum(axis=0),
            "currency": (f * ccy).sum(axis=0),
        },
        index=pd.Index(x.wp.columns, name="segment"),
    )
    daily = pd.DataFrame(
        {
            "Rp": rp_t,
            "Rb": rb_t,
            "Rp_local": cpl.sum(axis=1),
            "Rb_local": cbl.sum(axis=1),
            "allocation": alloc.sum(axis=1),
            "selection": select.sum(axis=1),
            "interaction": inter.sum(axis=1),
            "currency": ccy.sum(axis=1),
        },
        index=x.wp.index,
    )
    return Attribution(segs, float(np.prod(1 + rp_t) - 1), float(np.prod(1 + rb_t) - 1), daily)


def combine(
    parts: list[AttributionInput], start_values: list[np.ndarray], fx_returns: list[np.ndarray]
) -> AttributionInput:
    """Several accounts' inputs as one (a household), in a common report currency.

    Each account weighs u_a = its start-of-day value in the report currency over the total.
    Local contributions combine as they are; base contributions are re-expressed in the report
    currency with x_a, the day's return of the account's base against it:
    c' = c + x_a (w + c), so sum_i c'_i = (1 + R_a)(1 + x_a) - 1. Same dates in every part.
    """
    if not parts:
        raise AnalyticsError("nothing to combine")
    index = parts[0].wp.index
    cols: list[str] = []
    for p in parts:
        if not p.wp.index.equals(index):
            raise AnalyticsError("accounts to combine must share their dates")
        cols += [c for c in p.wp.columns if c not in cols]
    if "cash" in cols:
        cols = [*(c for c in cols if c != "cash"), "cash"]
    v = np.vstack([np.asarray(s, dtype=float) for s in start_values])  # accounts x dates
    total = v.sum(axis=0)
    u = np.where(total != 0, v / np.where(total != 0, total, 1.0), 1.0 / len(parts))

    def mix(get: str, translate: bool, weight_of: str) -> pd.DataFrame:
        out = pd.DataFrame(0.0, index=index, columns=cols)
        for k, p in enumerate(parts):
            c = getattr(p, get).reindex(columns=cols, fill_value=0.0)
            if translate:
                w = getattr(p, weight_of).reindex(columns=cols, fill_value=0.0)
                c = c + (w + c).mul(fx_returns[k], axis=0)
            out += c.mul(u[k], axis=0)
        return out

    return AttributionInput(
        wp=mix("wp", False, ""),
        wb=mix("wb", False, ""),
        cp_local=mix("cp_local", False, ""),
        cb_local=mix("cb_local", False, ""),
        cp_base=mix("cp_base", True, "wp"),
        cb_base=mix("cb_base", True, "wb"),
        rb_empty={k: v for p in parts for k, v in p.rb_empty.items()},
    )
