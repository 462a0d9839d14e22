"""A household's figures: its value shares, target, aggregate tracking error and the year's tax.

Shared by the household solve (the figures on each record) and the benchmark's tax alpha (the
same figures for an account-by-account run of the same accounts).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from engine.rebalance.book import AccountInput, Universe
from engine.rebalance.context import Context
from engine.rebalance.households import BLEND, HouseholdSpec
from engine.rebalance.prepare import Prepared, prepare
from engine.rebalance.taxes import rates_for


def prepare_all(ctx: Context, accounts: list[AccountInput]) -> list[Prepared]:
    """Each account prepared as for its own solve, except that sells relieve the least-tax lots
    first (as harvests do): the household problem weighs the year's tax lot by lot, and the
    proposal must realize the lots it counted."""
    return [prepare(ctx.u, replace(a, relief="min_tax"), ctx.s, ctx.pb(a.base)) for a in accounts]


def shares_of(u: Universe, spec: HouseholdSpec, preps: list[Prepared]) -> np.ndarray:
    vals = np.array([p.value * u.fx_to[spec.currency][p.account.base] for p in preps])
    return vals / vals.sum()


def target_of(
    u: Universe, spec: HouseholdSpec, preps: list[Prepared], shares: np.ndarray, union: np.ndarray
) -> np.ndarray:
    if spec.target == BLEND or spec.target_model_id not in u.models:
        t = np.zeros(len(union))
        for p, s in zip(preps, shares):
            np.add.at(t, np.searchsorted(union, p.idx), s * p.wm)
        return t
    cash = float(sum(s * p.account.cash_target for p, s in zip(preps, shares)))
    return u.models[int(spec.target_model_id or -1)][union] * (1.0 - cash)


def aggregate_te(
    u: Universe,
    preps: list[Prepared],
    shares: np.ndarray,
    union: np.ndarray,
    target: np.ndarray,
    ws: list[np.ndarray],
) -> float:
    """Annualised tracking error of the household's aggregate weights `ws` (per account) to its target."""
    agg = np.zeros(len(union))
    for p, s, w in zip(preps, shares, ws):
        np.add.at(agg, np.searchsorted(union, p.idx), s * w)
    d = agg - target
    b = u.exposures[union] if u.exposures is not None else np.zeros((len(union), 1))
    spec = u.specific[union] if u.specific is not None else np.zeros(len(union))
    return float(np.sqrt(np.sum((b.T @ d) ** 2) + np.sum((spec * d) ** 2)))


def ytd_net_tax(spec: HouseholdSpec, preps: list[Prepared]) -> float:
    """Estimated tax of the year so far after the carry-forward (at the long-term rate)."""
    taxable = [p.account for p in preps if p.account.tax_status == "taxable"]
    lt = rates_for(taxable[0].jurisdiction, "taxable").long_term if taxable else 0.0
    return spec.ytd_tax - spec.carry_forward * lt


def after_figures(
    spec: HouseholdSpec,
    preps: list[Prepared],
    shares: np.ndarray,
    union: np.ndarray,
    target: np.ndarray,
    recs: list[dict[str, Any]],
    ytd_net: float,
    u: Universe,
) -> dict[str, Any]:
    """The household's figures after the trades: tracking error, tax netted against the year."""
    ws = []
    run_gain = 0.0
    run_tax = 0.0
    index = {str(x): i for i, x in enumerate(u.symbols)}
    for p, rec in zip(preps, recs):
        qty = p.qty0.copy()
        pos = {int(i): k for k, i in enumerate(p.idx)}
        for t in rec["trades"]:
            k = pos[index[t["symbol"]]]
            qty[k] += t["quantity"] if t["side"] == "buy" else -t["quantity"]
        ws.append(qty * p.pb / p.value)
        fx = u.fx_to[spec.currency][p.account.base]
        run_tax += rec["est_tax"] * fx
        if p.account.tax_status == "taxable":
            run_gain += sum(t.get("gain", 0.0) for t in rec["trades"]) * fx
    y_gain = spec.ytd_gain - spec.carry_forward
    return {
        "te_after": round(aggregate_te(u, preps, shares, union, target, ws), 8),
        "est_tax": round(max(ytd_net + run_tax, 0.0) - max(ytd_net, 0.0), 2),
        "est_tax_gross": round(run_tax, 2),
        "realized_gain": round(run_gain, 2),
        "ytd_gains_used": round(min(max(y_gain, 0.0), max(-run_gain, 0.0)), 2),
    }


def household_figures(
    ctx: Context, accounts: list[AccountInput], recs: list[dict[str, Any]]
) -> dict[str, Any]:
    """The household's figures for any records of its accounts (same order), e.g. an
    account-by-account run, so runs compare on the same measures (benchmarks: tax alpha)."""
    spec = accounts[0].group
    assert spec is not None
    u = ctx.u
    preps = prepare_all(ctx, accounts)
    shares = shares_of(u, spec, preps)
    union = np.unique(np.concatenate([p.idx for p in preps]))
    target = target_of(u, spec, preps, shares, union)
    te0 = aggregate_te(u, preps, shares, union, target, [p.w0 for p in preps])
    after = after_figures(spec, preps, shares, union, target, recs, ytd_net_tax(spec, preps), u)
    return {"te_before": te0, **after}
