"""One account end to end: prepare, solve down the fallback ladder, round, check, explain.

Rungs: "optimal" (every soft target as a band constraint), "relaxed" (soft targets only in the
objective), "heuristic" (proportional move toward the eligible model that meets every hard
constraint). Each rung's result is rounded and checked exactly; the first that passes is
returned with its rung and why earlier rungs failed. If none passes, the account is
"infeasible" and the reason names the binding constraint. Accounts within their band in a full
rebalance are skipped (rung "in-band"). In a tax-loss harvest with nothing past the harvest
thresholds, an account whose breach only a full rebalance can fix is left as is (rung "harvest").
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from engine.rebalance import styles
from engine.rebalance.book import AccountInput, Universe
from engine.rebalance.buckets import RELAXED_BAND
from engine.rebalance.check import (
    CheckFx,
    CheckTrade,
    Limits,
    LotFacts,
    Outcome,
    SecurityFacts,
    check_proposal,
)
from engine.rebalance.context import Context
from engine.rebalance.heuristic import proportional
from engine.rebalance.prepare import Prepared, late_settling, prepare, suspended_reason, suspension
from engine.rebalance.qp import DirectQP
from engine.rebalance.qp_year import year_qp
from engine.rebalance.record import build_record
from engine.rebalance.rounding import Rounded, round_trades
from engine.rebalance.settings import FX_COST, Mode, RebalanceSettings

ACCEPTED = ("optimal", "optimal_inaccurate")
ROUNDINGS = ((False, True), (True, True), (True, False), (False, False))  # (sells up, buys to nearest lot)


def _reach(p: Prepared, buy_ub: np.ndarray, lot_w: np.ndarray) -> np.ndarray:
    """Band widened where the bounds no longer allow reaching it (dropped trades)."""
    out = np.zeros(p.n_pad)
    gap = p.wm - p.w0
    can_buy = buy_ub[: p.n] > 0
    can_sell = lot_w[: p.n].sum(axis=1) > 0
    out[: p.n] = np.where(~can_buy & (gap > 0), gap + 1e-6, 0.0) + np.where(
        ~can_sell & (gap < 0), -gap + 1e-6, 0.0
    )
    return out


def _facts(
    u: Universe, pb: np.ndarray, idx: np.ndarray, cache: dict[int, SecurityFacts]
) -> dict[str, SecurityFacts]:
    """Checker facts by symbol; `cache` (one per universe and base currency) keeps them."""
    out = {}
    for i in idx.tolist():
        f = cache.get(i)
        if f is None:
            f = cache[i] = SecurityFacts(
                currency=str(u.currency[i]),
                price_base=float(pb[i]),
                price_local=float(u.price[i] * u.multiplier[i]),
                lot_size=float(u.lot_size[i]),
                sector=str(u.sector[i]),
                country=str(u.country[i]),
                issuer=str(u.issuer[i]),
                wash_group=str(u.symbols[u.wash_group[i]]),
                cost=float(u.cost[i]),
                fund=u.asset_class[i] == "etf",
            )
        out[str(u.symbols[i])] = f
    return out


def check_rounded(
    p: Prepared,
    u: Universe,
    s: RebalanceSettings,
    r: Rounded,
    facts_cache: dict[int, SecurityFacts] | None = None,
) -> Outcome:
    a = p.account
    fx = u.fx_to[a.base]
    pb_all = np.zeros(len(u.ids))
    pb_all[p.idx] = p.pb
    secs = _facts(u, pb_all, p.idx, {} if facts_cache is None else facts_cache)
    sym = u.symbols[p.idx]
    held = np.flatnonzero(p.qty0 > 0)
    holdings = dict(zip([str(x) for x in sym[held]], p.qty0[held].tolist()))
    # The checker looks lots up by the trades' lot ids only: the sold lots are all it needs.
    lots = {
        str(a.lot_id[j]): LotFacts(
            str(u.symbols[a.lot_sec[j]]), float(a.lot_qty[j]), float(p.lot_gain_unit[j])
        )
        for j in np.flatnonzero(r.lot_sold > 0).tolist()
    }
    caps = {lab: cap for kind, lab, _m, cap in p.group_rows if kind == "sector"}
    limits = Limits(
        cash_floor=a.cash_floor,
        sector_caps=caps,
        country_cap=s.country_cap,
        issuer_cap=s.issuer_cap,
        max_turnover=s.max_turnover,
        min_trade_base=p.min_trade,
        gains_budget_base=s.gains_budget_base,
        excluded=frozenset(str(x) for x in sym[p.excluded]),
        keep_legacy=a.keep_legacy,
        wash_blocked=frozenset(str(u.symbols[g]) for g in a.wash_blocked),
        allow_buys=p.mode != Mode.SELL_ONLY,
        allow_sells=p.mode != Mode.BUY_ONLY,
        cash_min_base=(p.cash0 * p.value + s.cash_raise_base) if p.mode == Mode.CASH_RAISE else None,
        fx_cost=FX_COST,
        late_settling={str(sym[k]): str(u.settle[p.idx[k]]) for k in np.flatnonzero(late_settling(p, u, s))}
        if u.settle is not None
        else {},
    )
    buys = np.flatnonzero(r.buy_qty > 0)
    trades = [CheckTrade(str(sym[k]), "buy", float(r.buy_qty[k])) for k in buys.tolist()]
    for k in np.flatnonzero(r.sell_qty > 0).tolist():
        sold = np.flatnonzero((p.lot_pos == k) & (r.lot_sold > 0))
        trades.append(
            CheckTrade(
                str(sym[k]),
                "sell",
                float(r.sell_qty[k]),
                tuple((str(a.lot_id[j]), float(r.lot_sold[j])) for j in sold),
            )
        )
    fx_trades = [CheckFx(c, side, amt, rate) for c, side, amt, rate in r.fx]
    return check_proposal(a.base, secs, holdings, lots, dict(a.cash), fx, limits, trades, fx_trades)


def _skip(p: Prepared) -> bool:
    a = p.account
    held_excluded = bool((p.w0[p.excluded] > 0).any()) and not a.keep_legacy
    return (
        np.abs(p.w0 - p.wm).max(initial=0.0) <= a.band
        and p.cash0 - a.cash_target <= a.band
        and not held_excluded
    )


def rebalance_account(ctx: Context, a: AccountInput) -> dict[str, Any]:
    """The JSON record of one account's proposal (status ok, infeasible or failed)."""
    t0 = time.perf_counter()
    s = ctx.s
    try:
        return _rebalance(ctx, a, t0)
    except Exception as exc:  # one account never fails the batch
        return {
            "account": a.code,
            "account_id": a.id,
            "status": "failed",
            "reason": f"{type(exc).__name__}: {exc}",
            "rung": None,
            "solve_ms": round((time.perf_counter() - t0) * 1000, 2),
            "mode": str(s.mode),
            "trades": [],
            "fx_trades": [],
            "est_tax": 0.0,
            "est_cost": 0.0,
        }


def _rebalance(ctx: Context, a: AccountInput, t0: float) -> dict[str, Any]:
    u, s = ctx.u, ctx.s
    p = prepare(u, a, s, ctx.pb(a.base))
    plan = styles.apply(p, u, s)  # min/max, tactical, gains deferral: what may trade
    empty = Rounded(np.zeros(p.n), np.zeros(p.n), np.zeros(len(a.lot_qty)))
    stale = suspension(u, a)
    if stale:  # never solved on a stale price or rate: no trades, the reason says which
        rec = build_record(p, u, s, empty, None, "infeasible", suspended_reason(stale), None, t0)
        return {**rec, "suspended": [i.as_dict() for i in stale]}
    model = u.models.get(a.model_id or -1)
    if model is None or not (model > 0).any():
        return build_record(p, u, s, empty, None, "infeasible", "model: the account has no model", None, t0)
    allowed = p.wm[~p.excluded].sum()
    if p.wm.sum() > 0 and allowed <= 1e-12:
        code = u.model_codes.get(a.model_id or -1, "?")
        reason = f"exclusions: every security of model {code} is excluded for this account"
        return build_record(p, u, s, empty, None, "infeasible", reason, None, t0)
    if s.mode == Mode.FULL and s.skip_in_band and _skip(p):
        out = check_rounded(p, u, s, empty, ctx.facts.setdefault(a.base, {}))
        if out.ok:  # within band and every hard constraint already holds
            return build_record(p, u, s, empty, out, "ok", "within band: no trades needed", "in-band", t0)
    if plan is not None and plan.idle:
        out = check_rounded(p, u, s, empty, ctx.facts.setdefault(a.base, {}))
        if out.ok:
            return build_record(p, u, s, empty, out, "ok", plan.idle, "in-band", t0)
    notes: list[str] = []
    last_violation = ""
    prob = year_qp(p, s) or DirectQP(s.risk_aversion, s.trade_penalty, s.cash_penalty)
    for rung, band in (("optimal", None), ("relaxed", RELAXED_BAND)):
        values = dict(p.values)
        if band is not None:
            values["band"] = np.full(p.n_pad, band)
            values["cash_band"] = band
        status = prob.solve(values, s.time_limit_s)
        sol = prob.solution()
        if status not in ACCEPTED or sol is None:
            notes.append(f"{rung}: solver {status}")
            continue
        buy_w, sell_w = sol
        for _ in range(s.polish_passes):
            # Trades that rounding drops (under the minimum size or a board lot) are taken out
            # of the problem and it is re-solved, so the rest of the proposal makes up for them.
            r = round_trades(p, u, s, buy_w, sell_w, True, fx=False)  # which trades survive
            drop_b = (buy_w > 1e-7) & (r.buy_qty == 0)
            drop_s = (sell_w > 1e-7) & (r.sell_qty == 0)
            if buy_w[drop_b].sum() + sell_w[drop_s].sum() < s.polish_min_dropped:
                break
            bu = np.array(values["buy_ub"], copy=True)
            bu[: p.n][drop_b] = 0.0
            lw = np.array(values["lot_w"], copy=True)
            lw[: p.n][drop_s] = 0.0
            values.update(buy_ub=bu, lot_w=lw, band=np.maximum(values["band"], _reach(p, bu, lw)))
            status = prob.solve(values, s.time_limit_s)
            sol = prob.solution()
            if status not in ACCEPTED or sol is None:
                break
            buy_w, sell_w = sol
        for sell_up, nearest in ROUNDINGS:
            r = round_trades(p, u, s, buy_w, sell_w, sell_up, nearest)
            out = styles.check(plan, p, u, r, check_rounded(p, u, s, r, ctx.facts.setdefault(a.base, {})))
            if out.ok:
                reason = "; ".join(notes) if notes else "optimal"
                return build_record(p, u, s, r, out, "ok", reason, rung, t0, objective=prob.objective)
            last_violation = str(out.violations[0])
        notes.append(f"{rung}: after rounding {last_violation}")
    buy_w, sell_w = styles.mask(plan, *proportional(p, u, s))
    for sell_up, nearest in ROUNDINGS:
        r = round_trades(p, u, s, buy_w, sell_w, sell_up, nearest)
        out = styles.check(plan, p, u, r, check_rounded(p, u, s, r, ctx.facts.setdefault(a.base, {})))
        if out.ok:
            return build_record(p, u, s, r, out, "ok", "; ".join(notes), "heuristic", t0)
        last_violation = str(out.violations[0])
    notes.append(f"heuristic: {last_violation}")
    if s.mode == Mode.TAX_LOSS_HARVEST and not p.harvest.any():
        # Nothing to harvest and a breach only a full rebalance can fix: leave the account as is.
        out = check_rounded(p, u, s, empty, ctx.facts.setdefault(a.base, {}))
        why = f"nothing to harvest; left as is: {out.violations[0]} (a full rebalance fixes it)"
        return build_record(p, u, s, empty, out, "ok", why, "harvest", t0)
    binding = last_violation.split(":")[0] if last_violation else "solver"
    reason = f"binding constraint {binding}: " + "; ".join(notes)
    return build_record(p, u, s, empty, None, "infeasible", reason, None, t0)
