"""A household group end to end: one problem for its accounts, then each account rounded and checked.

Steps: prepare every account as for an account solve (its cash needs, restrictions, exclusions,
lots, board lots and minimum sizes); solve the household QP (`household_qp`); fix one direction
per wash group household-wide and re-solve until no wash group is bought in one account and sold
in another; round and check each account exactly (`solve.check_rounded`); the records share a
household run id and the household's figures. Where that fails the household falls back to
account-by-account solves (rung of each account's own ladder) and the figures name why.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import numpy as np

from engine.rebalance import styles
from engine.rebalance.book import AccountInput, Universe
from engine.rebalance.buckets import RELAXED_BAND
from engine.rebalance.context import Context
from engine.rebalance.household_band import household_in_band
from engine.rebalance.household_figures import (
    after_figures,
    aggregate_te,
    prepare_all,
    shares_of,
    target_of,
    ytd_net_tax,
)
from engine.rebalance.household_qp import HouseholdProblem, Member, build_household_qp
from engine.rebalance.household_styles import below_threshold
from engine.rebalance.households import HouseholdSpec
from engine.rebalance.prepare import Prepared, suspension
from engine.rebalance.record import build_record
from engine.rebalance.rounding import Rounded, round_trades
from engine.rebalance.settings import Mode
from engine.rebalance.solve import ACCEPTED, ROUNDINGS, _skip, check_rounded, rebalance_account
from engine.rebalance.styled import TAX_TOL, rebalance_styled
from engine.rebalance.styles import StylePlan

DIRECTION_PASSES = 4  # solves until every wash group has one direction across the household
BUDGET_MARGIN = 0.98  # the QP keeps the tax budget a little inside, so rounding does not cross it
HOUSEHOLD_NOTE = (
    "household solve: the household's aggregate is held to its target, not each account (asset "
    "location puts tax-inefficient holdings in tax-deferred accounts)"
)
WITHIN_BAND = "within band: no trades needed"
BUDGET_RETRIES = 4  # re-solves with a tighter budget when the relieved lots cost more tax


def account_cap(p: Prepared) -> float | None:
    """What is left of the account's own annual tax budget (base currency), or None."""
    y = p.account.year
    if y is None or y.account_budget is None:
        return None
    return max(y.account_budget - max(y.own_ytd_tax, 0.0), 0.0)


def _solvable(ctx: Context, a: AccountInput) -> bool:
    """Accounts the household problem can take: prices fresh, a model, something eligible."""
    u = ctx.u
    model = u.models.get(a.model_id or -1)
    if suspension(u, a) or model is None or not (model > 0).any():
        return False
    excl = np.zeros(len(u.ids), dtype=bool)
    excl[a.excluded] = True
    return bool((model[~excl] > 0).any())


def rebalance_household(ctx: Context, accounts: list[AccountInput]) -> list[dict[str, Any]]:
    """Records for a household group's accounts (each a normal account record plus `household`)."""
    spec = accounts[0].group
    assert spec is not None
    t0 = time.perf_counter()
    run_id = uuid.uuid4().hex
    inside = [a for a in accounts if _solvable(ctx, a)]
    outside = [rebalance_account(ctx, a) for a in accounts if not _solvable(ctx, a)]
    for rec in outside:
        rec["household"] = {"run_id": run_id, "household": spec.code, "left_out": rec["reason"]}
    if not inside:
        return outside
    try:
        recs, figures = _solve(ctx, spec, inside, t0)
    except Exception as exc:  # the household never fails the batch: account by account instead
        recs, figures = _fallback(ctx, inside, f"household solve failed: {type(exc).__name__}: {exc}")
    figures = {"run_id": run_id, "household": spec.code, **figures}
    left = [r["account"] for r in outside]
    if left:
        figures["left_out"] = left
    for rec in recs:
        rec["household"] = figures
    return recs + outside


def _values(p: Prepared, u: Universe) -> dict[str, np.ndarray | float]:
    """The account's arrays for the household problem: no per-account band (the household's
    tracking error decides), and no loss sale of a wash group the household bought within 30 days."""
    vals = dict(p.values)
    vals["band"] = np.full(p.n, RELAXED_BAND)
    a = p.account
    if a.recent_buys and p.mode != Mode.TAX_LOSS_HARVEST:
        lw = np.array(vals["lot_w"], dtype=float, copy=True)
        recent = np.isin(u.wash_group[a.lot_sec], list(a.recent_buys))
        washes = recent & (p.lot_gain_unit < 0) & ~p.excluded[p.lot_pos]
        lw[p.lot_pos[washes], p.lot_slot[washes]] = 0.0
        vals["lot_w"] = lw
    return vals


def _directions(
    u: Universe, members: list[Member], sol: list[tuple[np.ndarray, np.ndarray]]
) -> tuple[dict[int, float], dict[int, float]]:
    """Household buys and sells per wash group (fractions of V_H, only trades over a tenth of the
    account's minimum trade size: interior-point noise is no trade)."""
    buys: dict[int, float] = {}
    sells: dict[int, float] = {}
    for m, (b, s) in zip(members, sol):
        eps = max(0.1 * m.p.min_trade / m.p.value, 1e-6)
        g = u.wash_group[m.p.idx]
        for arr, out in ((b, buys), (s, sells)):
            for k in np.flatnonzero(arr > eps).tolist():
                out[int(g[k])] = out.get(int(g[k]), 0.0) + m.share * float(arr[k])
    return buys, sells


def _restrict(u: Universe, members: list[Member], no_buy: set[int], no_sell: set[int]) -> None:
    """Apply household directions: no buy of `no_buy` groups, no sale of `no_sell` groups
    (a sale the account must make, of an excluded security, is never taken away)."""
    for m in members:
        g = u.wash_group[m.p.idx]
        bu = np.array(m.values["buy_ub"], dtype=float, copy=True)
        bu[: m.p.n][np.isin(g, list(no_buy))] = 0.0
        lw = np.array(m.values["lot_w"], dtype=float, copy=True)
        stop = np.isin(g, list(no_sell)) & ~m.p.excluded
        lw[: m.p.n][stop] = 0.0
        m.values = {**m.values, "buy_ub": bu, "lot_w": lw}


def _solve(
    ctx: Context, spec: HouseholdSpec, accounts: list[AccountInput], t0: float
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    u, s = ctx.u, ctx.s
    preps = prepare_all(ctx, accounts)
    plans = [styles.apply(p, u, s) for p in preps]  # min/max, tactical, gains deferral: what may trade
    shares = shares_of(u, spec, preps)
    union = np.unique(np.concatenate([p.idx for p in preps]))
    target = target_of(u, spec, preps, shares, union)
    value_h = float(sum(p.value * u.fx_to[spec.currency][p.account.base] for p in preps))
    ytd_net = ytd_net_tax(spec, preps)
    te_before = aggregate_te(u, preps, shares, union, target, [p.w0 for p in preps])
    figures: dict[str, Any] = {
        "target": spec.target,
        "currency": spec.currency,
        "accounts": [a.code for a in accounts],
        "value": round(value_h, 2),
        "te_before": round(te_before, 8),
        "ytd_gains": round(spec.ytd_gain, 2),
        "carry_forward": round(spec.carry_forward, 2),
        "tax_budget": spec.tax_budget,
    }
    empty = [Rounded(np.zeros(p.n), np.zeros(p.n), np.zeros(len(p.account.lot_qty))) for p in preps]

    def done(recs: list[dict[str, Any]], rung: str, why: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        after = after_figures(spec, preps, shares, union, target, recs, ytd_net, u)
        return recs, {**figures, **after, "rung": rung, "reason": why}

    def fallback(why: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        recs, extra = _fallback(ctx, accounts, why)
        return done(recs, extra["rung"], why)

    idles = [pl.idle if pl is not None else None for pl in plans]
    idle = all(idles)  # the style leaves no account anything to trade
    in_band = None  # why the household needs no solve (a full run that skips in-band accounts)
    alone = [_skip(p) for p in preps]
    if s.mode == Mode.FULL and s.skip_in_band:
        in_band = (
            "every account within its band" if all(alone) else household_in_band(preps, shares, union, target)
        )
    if in_band or idle:
        facts = [ctx.facts.setdefault(p.account.base, {}) for p in preps]
        outs = [check_rounded(p, u, s, r, f) for p, r, f in zip(preps, empty, facts)]
        if all(o.ok for o in outs):
            whys = [str(w) for w in idles] if idle else [WITHIN_BAND if ok else str(in_band) for ok in alone]
            quiet = [
                build_record(p, u, s, r, o, "ok", w, "in-band", t0)
                for p, r, o, w in zip(preps, empty, outs, whys)
            ]
            return done(quiet, "in-band", whys[0] if idle else str(in_band))
    saved = [(dict(p.values), p.blocked.copy()) for p in preps]
    cap = None if spec.tax_budget is None else max(ytd_net, 0.0) + spec.tax_budget * BUDGET_MARGIN
    budget = None if cap is None else cap / value_h
    why = "optimal"
    for _ in range(BUDGET_RETRIES):
        for p, (vals, blocked) in zip(preps, saved):
            p.values, p.blocked = dict(vals), blocked.copy()
        members = [
            Member(p, float(sh), p.account.tax_status == "taxable", _values(p, u), account_cap(p))
            for p, sh in zip(preps, shares)
        ]
        rung = "household"
        res = _directed(ctx, members, union, target, ytd_net / value_h, budget)
        if res is None and budget is not None:
            rung = "household-relaxed"
            why = (
                f"tax budget {spec.tax_budget:,.0f} {spec.currency} infeasible (the sales the accounts "
                "must make cost more): solved without it"
            )
            for m, p in zip(members, preps):
                m.values = _values(p, u)
            res = _directed(ctx, members, union, target, ytd_net / value_h, None)
        if res is None:
            return fallback("household solve: the solver found no solution")
        recs, failed = _round_all(ctx, members, plans, res, rung, why, t0)
        if failed:
            return fallback(f"household solve: {failed}")
        result = done(recs, rung, why)
        skipped = below_threshold(s, preps, recs, result[1])
        if skipped is not None:
            return done(skipped, "below-threshold", skipped[0]["reason"])
        over = result[1]["est_tax"] - (spec.tax_budget or 0.0)
        if spec.tax_budget is None or rung != "household" or over <= 0.01:
            return result
        # Rounding drops sales under the minimum size (often small losses that netted gains) and
        # rounds lots up: tighten the cap by the overshoot and solve again.
        budget = (budget or 0.0) - 1.5 * over / value_h
    return fallback("household solve: tax budget crossed after rounding")


def _round_all(
    ctx: Context,
    members: list[Member],
    plans: list[StylePlan | None],
    res: tuple[list[tuple[np.ndarray, np.ndarray]], float | None, list[np.ndarray]],
    rung: str,
    why: str,
    t0: float,
) -> tuple[list[dict[str, Any]], str]:
    """Each account rounded and checked exactly (first rounding that passes); '' or what failed."""
    u, s = ctx.u, ctx.s
    sol, objective, chosen = res
    recs: list[dict[str, Any]] = []
    for m, plan, (buy_w, sell_w), lots in zip(members, plans, sol, chosen):
        p = m.p
        # Sells relieve the lots the household problem chose (specific identification), so the
        # tax the budget and the year's netting counted is the tax of the proposal; a security
        # the account must sell (excluded) keeps every lot.
        lw = np.array(m.values["lot_w"], dtype=float, copy=True)
        lw[: p.n][~lots[: p.n] & ~p.excluded[:, None]] = 0.0
        p.values = {**m.values, "lot_w": lw}
        p.blocked = p.blocked | (np.asarray(m.values["buy_ub"])[: p.n] <= 0) | (buy_w <= 1e-7)
        rec = None
        last = ""
        for sell_up, nearest in ROUNDINGS:
            r = round_trades(p, u, s, buy_w, sell_w, sell_up, nearest)
            out = check_rounded(p, u, s, r, ctx.facts.setdefault(p.account.base, {}))
            out = styles.check(plan, p, u, r, out)  # no trade in a frozen position, no deferred lot
            if out.ok:
                rec = build_record(p, u, s, r, out, "ok", why, rung, t0, objective=objective)
                if rec.get("drift_note"):  # more drift than before: the household says why too
                    rec["drift_note"] = f"{rec['drift_note']}; {HOUSEHOLD_NOTE}"
                break
            last = str(out.violations[0])
        if rec is None:
            return recs, f"{p.account.code} after rounding {last}"
        if m.tax_cap is not None and float(rec["est_tax"]) > m.tax_cap + TAX_TOL:
            return recs, (
                f"{p.account.code} after rounding tax budget: estimated tax {rec['est_tax']:,.2f} > "
                f"{m.tax_cap:,.2f} {p.account.base} left of its annual budget"
            )
        recs.append(rec)
    return recs, _conflicts(u, recs)


def _directed(
    ctx: Context,
    members: list[Member],
    union: np.ndarray,
    target: np.ndarray,
    ytd: float,
    budget: float | None,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], float | None, list[np.ndarray]] | None:
    """Solve, fix each traded wash group's household direction (sales forced by exclusions win,
    else the larger side), and re-solve until no group is both bought and sold."""
    u, s = ctx.u, ctx.s
    no_buy: set[int] = set()
    no_sell: set[int] = set()
    prob = HouseholdProblem(
        members, u, union, target, s.risk_aversion, s.trade_penalty, s.cash_penalty, ytd, budget,
        s.time_limit_s * max(1, len(members)),
    )  # fmt: skip
    for _ in range(DIRECTION_PASSES):
        res = prob.solve(no_buy, no_sell)
        if res.status not in ACCEPTED or res.sol is None:
            return None
        buys, sells = _directions(u, members, res.sol)
        both = set(buys) & set(sells)
        forced = {int(g) for m in members for g in u.wash_group[m.p.idx[m.p.excluded & (m.p.w0 > 0)]]}
        # Every traded group keeps its direction from here on, so a re-solve cannot start a new
        # conflict in a group that had none.
        no_buy |= {g for g in sells if g not in buys or g in forced or sells[g] >= buys[g]}
        no_sell |= {g for g in buys if g not in no_buy}
        if not both:
            _restrict(u, members, no_buy, no_sell)  # rounding's repair must keep them too
            return res.sol, res.objective, res.lots or []
        _restrict(u, members, no_buy, no_sell)
    return None


def _conflicts(u: Universe, recs: list[dict[str, Any]]) -> str:
    """'' when no wash group is bought in one account and sold in another (exact, after rounding)."""
    index = {str(x): i for i, x in enumerate(u.symbols)}
    side: dict[int, tuple[str, str]] = {}
    for rec in recs:
        for t in rec["trades"]:
            g = int(u.wash_group[index[t["symbol"]]])
            seen = side.get(g)
            if seen and seen[0] != t["side"]:
                return f"{t['symbol']} {t['side']} in {rec['account']} and {seen[0]} in {seen[1]}"
            side.setdefault(g, (t["side"], rec["account"]))
    return ""


def _fallback(
    ctx: Context, accounts: list[AccountInput], why: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Account by account, in order, with the run's style rules (`styled`: budgets, forced
    deferral, the improvement threshold); a wash group sold in an earlier account is not bought
    later, and one bought earlier is not sold at a loss later (a gain sale may remain: solved
    one by one, the household's one-direction rule holds only for loss sales)."""
    u = ctx.u
    index = {str(x): i for i, x in enumerate(u.symbols)}
    sold: dict[int, str] = {}
    bought: set[int] = set()
    spent: dict[int, float] = {}
    recs = []
    for a in accounts:
        if sold:
            a.wash_blocked = {**a.wash_blocked, **sold}
        if bought:  # no loss sale of a group an earlier account buys (a wash sale)
            a.recent_buys = a.recent_buys | bought
        rec = rebalance_styled(ctx, a, spent)
        for t in rec["trades"]:
            g = int(u.wash_group[index[t["symbol"]]])
            if t["side"] == "sell":
                sold[g] = f"household: {t['symbol']} sold in {a.code} in this run"
            else:
                bought.add(g)
        recs.append(rec)
    return recs, {"rung": "account-by-account", "reason": why}


def first_problem(ctx: Context, accounts: list[AccountInput]) -> tuple[Any, ...]:
    """The household's first QP as Clarabel data (P, q, A, b, cones): a bare solve's benchmark."""
    spec = accounts[0].group
    assert spec is not None
    u, s = ctx.u, ctx.s
    preps = prepare_all(ctx, accounts)
    shares = shares_of(u, spec, preps)
    union = np.unique(np.concatenate([p.idx for p in preps]))
    target = target_of(u, spec, preps, shares, union)
    members = [
        Member(p, float(sh), p.account.tax_status == "taxable", _values(p, u)) for p, sh in zip(preps, shares)
    ]
    value_h = float(sum(p.value * u.fx_to[spec.currency][p.account.base] for p in preps))
    data = build_household_qp(
        members, u, union, target, s.risk_aversion, s.trade_penalty, s.cash_penalty,
        ytd_net_tax(spec, preps) / value_h, None,
    )  # fmt: skip
    return tuple(data[:5])
