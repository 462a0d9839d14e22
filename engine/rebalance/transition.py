"""Transition plans: a legacy portfolio moves onto a model over K steps, each within a tax and a
turnover budget (pure: a universe and an account in, the projected steps out; nothing stored).

Each step is a normal account solve (engine.rebalance.solve, full mode, the in-band skip off)
against the plan's model with the step's turnover as the turnover cap and the step's tax budget
as a cap on estimated tax. The optimiser caps net realized gains, so the tax budget T enters as a
gains cap of T / (the account's top rate); if the rounded proposal's estimated tax still crosses T
(short-term gains netted against long-term losses), the cap is tightened in proportion and the
step solved again (up to TAX_RETRIES times). The next step starts from this step's holdings: sold
lots relieved, bought lots added at today's price, cash as after the trades. Prices and FX stay at
the book's date (a projection, not a forecast); only the calendar moves, `every_days` per step,
so a lot that turns long-term before a later step is taxed at the long-term rate there.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import numpy as np

from engine.errors import NotFound, WorkstationError
from engine.rebalance.book import AccountInput, Universe
from engine.rebalance.context import Context
from engine.rebalance.settings import Mode, RebalanceSettings
from engine.rebalance.solve import rebalance_account
from engine.rebalance.taxes import rates_for

TAX_RETRIES = 4
MARGINS = (0.98, 0.95, 0.9, 0.8, 0.6, 0.4, 0.2)  # caps as a share of the budgets, tried in turn
TAX_TOL = 0.01  # base currency: estimates are rounded to the cent
TE_TOL = 5e-5  # a step "lowers" tracking error unless it rises by more than half a basis point
DEFAULT_TOLERANCE = 0.0025  # 25 bp of annualised tracking error
DEFAULT_EVERY_DAYS = 31  # a step a month, outside the 30-day wash-sale window


@dataclass(frozen=True)
class Budget:
    """A plan's terms: K steps, each with its turnover cap and (optional) estimated-tax cap."""

    steps: int
    turnover: float  # (buys + sells) / account value, per step
    tax_budget: float | None = None  # estimated tax per step, account base currency
    tolerance: float = DEFAULT_TOLERANCE  # TE above the one-shot rebalance's that counts as "reached"
    every_days: int = DEFAULT_EVERY_DAYS

    def validate(self) -> None:
        problems = []
        if not 1 <= self.steps <= 24:
            problems.append(f"steps must be 1 to 24 (got {self.steps})")
        if not 0 < self.turnover <= 2:
            problems.append(f"turnover must be above 0 and at most 2 (got {self.turnover:g})")
        if self.tax_budget is not None and self.tax_budget < 0:
            problems.append(f"tax budget must be >= 0 (got {self.tax_budget:g})")
        if not 0 < self.tolerance < 0.2:
            problems.append(f"tolerance must be above 0 and below 0.2 (got {self.tolerance:g})")
        if not 1 <= self.every_days <= 366:
            problems.append(f"every must be 1 to 366 days (got {self.every_days})")
        if problems:
            raise WorkstationError("transition: " + "; ".join(problems))


def step_settings(
    base: RebalanceSettings, budget: Budget, gains_cap: float | None, when: date
) -> RebalanceSettings:
    """The settings one step solves with: full mode, no in-band skip, the step's caps."""
    return replace(
        base,
        mode=Mode.FULL,
        skip_in_band=False,
        max_turnover=budget.turnover,
        gains_budget_base=gains_cap,
        cash_raise_base=0.0,
        cash_raise_by=None,
        trade_date=when,
        households=False,
    )


def solve_step(
    u: Universe, a: AccountInput, base: RebalanceSettings, budget: Budget, when: date
) -> dict[str, Any]:
    """One step's proposal record (engine.rebalance.record shape) within the step's budgets.

    The caps are set a little inside the budgets (MARGINS): a cap that binds at the optimum is
    crossed by board-lot rounding, and the exact check then refuses the rung. Each attempt's
    proposal is checked exactly against its (tighter) caps, so an `ok` step is within budget."""
    rates = rates_for(a.jurisdiction, a.tax_status)
    top = max(rates.short_term, rates.long_term)
    low = min(rates.short_term, rates.long_term) or top
    cap = None if budget.tax_budget is None or top == 0 else budget.tax_budget / top
    rec: dict[str, Any] = {}
    tries = 0
    for margin in MARGINS:
        while True:
            tries += 1
            gains = None if cap is None else (cap * margin if cap > 0 else cap)
            tight = replace(budget, turnover=budget.turnover * margin)
            rec = rebalance_account(Context(u, step_settings(base, tight, gains, when)), a)
            tax = float(rec.get("est_tax", 0.0))
            if rec["status"] != "ok":
                break  # a wider margin next
            if budget.tax_budget is None or tax <= budget.tax_budget + TAX_TOL:
                rec["attempts"] = tries
                return rec
            if tries > TAX_RETRIES + len(MARGINS):
                break
            assert cap is not None
            # Lower the net gains by enough to cut the excess even at the lower rate.
            cap = min(cap, realized_gain(rec)) - (tax - budget.tax_budget) / low * 1.05
    rec["attempts"] = tries
    if rec.get("status") == "ok":  # solved, but the tax estimate stayed above the budget
        rec["status"], rec["rung"] = "infeasible", None
        rec["reason"] = (
            f"binding constraint tax budget: estimated tax {rec['est_tax']:,.2f} stays above "
            f"{budget.tax_budget:,.2f} {a.base} after {tries} tighter solves"
        )
    return rec


def realized_gain(rec: dict[str, Any]) -> float:
    """Net realized gain of a record's sells (base currency)."""
    return float(sum(t.get("gain", 0.0) for t in rec.get("trades", []) if t["side"] == "sell"))


def apply_step(u: Universe, a: AccountInput, rec: dict[str, Any], when: date, step: int) -> AccountInput:
    """The account after a step's trades: sold lots relieved, bought lots added (acquired `when`,
    at today's price; synthetic negative lot ids), cash as the record has it after trading."""
    if rec["status"] != "ok":
        return a
    index = {str(s): i for i, s in enumerate(u.symbols)}
    qty = a.lot_qty.astype(float).copy()
    pos = {int(lot): j for j, lot in enumerate(a.lot_id)}
    secs, qtys, costs, fxs = [], [], [], []
    for t in rec["trades"]:
        if t["side"] == "sell":
            for lot in t["lots"]:
                qty[pos[int(lot["lot_id"])]] -= float(lot["quantity"])
        else:
            i = index[t["symbol"]]
            secs.append(i)
            qtys.append(float(t["quantity"]))
            costs.append(float(u.price[i]))
            fxs.append(u.fx_to[a.base][str(u.currency[i])])
    keep = qty > 1e-9
    n_new = len(secs)
    first_id = -(step * 100_000)
    return replace(
        a,
        lot_sec=np.concatenate([a.lot_sec[keep], np.array(secs, dtype=int)]),
        lot_qty=np.concatenate([qty[keep], np.array(qtys, dtype=float)]),
        lot_cost=np.concatenate([a.lot_cost[keep], np.array(costs, dtype=float)]),
        lot_fx=np.concatenate([a.lot_fx[keep], np.array(fxs, dtype=float)]),
        lot_acquired=np.concatenate(
            [a.lot_acquired[keep], np.full(n_new, np.datetime64(when, "D"), dtype="datetime64[D]")]
        ),
        lot_id=np.concatenate([a.lot_id[keep], np.arange(first_id, first_id - n_new, -1, dtype=int)]),
        cash={c: float(v) for c, v in rec["after"]["cash"].items()},
    )


def step_summary(i: int, when: date, rec: dict[str, Any], budget: Budget) -> dict[str, Any]:
    """What the plan keeps of one projected step (the figures a PM reads, and its trades)."""
    ok = rec["status"] == "ok"
    before, after = rec.get("before") or {}, rec.get("after") or {}
    return {
        "step": i,
        "date": when.isoformat(),
        "status": rec["status"],
        "reason": rec["reason"],
        "rung": rec.get("rung"),
        "te_before": before.get("tracking_error"),
        "te_after": after.get("tracking_error") if ok else before.get("tracking_error"),
        "max_drift_after": after.get("max_drift") if ok else before.get("max_drift"),
        "effective_drift_before": (rec.get("effective_drift") or {}).get("before", {}).get("max"),
        "effective_drift_after": (rec.get("effective_drift") or {})
        .get("after" if ok else "before", {})
        .get("max"),
        "turnover": rec.get("turnover", 0.0) if ok else 0.0,
        "est_tax": rec.get("est_tax", 0.0) if ok else 0.0,
        "est_cost": rec.get("est_cost", 0.0) if ok else 0.0,
        "realized_gain": round(realized_gain(rec), 2) if ok else 0.0,
        "trades": len(rec.get("trades", [])) if ok else 0,
        "within_budget": ok
        and rec.get("turnover", 0.0) <= budget.turnover + 1e-9
        and (budget.tax_budget is None or rec.get("est_tax", 0.0) <= budget.tax_budget + TAX_TOL),
        "te_note": None,
        "drift_note": rec.get("drift_note"),
        "orders": [
            {"symbol": t["symbol"], "side": t["side"], "quantity": t["quantity"]}
            for t in rec.get("trades", [])
        ]
        if ok
        else [],
    }


def _te_note(step: dict[str, Any]) -> str | None:
    """Why tracking error did not fall in a step (None when it fell or held)."""
    if step["status"] != "ok":
        return f"not solved: {step['reason']}"
    if step["te_after"] is None or step["te_before"] is None:
        return None
    if step["te_after"] <= step["te_before"] + TE_TOL:
        return None
    why = step["drift_note"] or (
        f"the optimiser traded {step['turnover']:.2%} for the cash target, costs or tax ({step['reason']})"
    )
    return f"tracking error rises {step['te_before']:.4%} -> {step['te_after']:.4%}: {why}"


def plan_transition(
    u: Universe,
    a: AccountInput,
    model_id: int,
    budget: Budget,
    base: RebalanceSettings | None = None,
) -> dict[str, Any]:
    """The projected plan: one summary per step, the totals, and whether the model is reached."""
    budget.validate()
    if model_id not in u.models or not (u.models[model_id] > 0).any():
        raise NotFound(f"model id {model_id} has no weights in the book")
    base = base or RebalanceSettings()
    # Least-tax lots first (as harvests and household solves do): the lots the optimiser counted
    # are the lots relieved, and release sends them as specific-lot instructions.
    acct = replace(a, model_id=model_id, relief="min_tax")
    one_shot = solve_step(u, acct, base, Budget(steps=1, turnover=2.0), u.as_of)
    te_min = (one_shot.get("after") or {}).get("tracking_error") if one_shot["status"] == "ok" else None
    steps: list[dict[str, Any]] = []
    te0: float | None = None
    for i in range(1, budget.steps + 1):
        when = u.as_of + timedelta(days=budget.every_days * (i - 1))
        rec = solve_step(replace(u, as_of=when), acct, base, budget, when)
        s = step_summary(i, when, rec, budget)
        s["te_note"] = _te_note(s)
        if te0 is None:
            te0 = s["te_before"]
        steps.append(s)
        acct = apply_step(u, acct, rec, when, i)
    last = steps[-1]
    te_final = last["te_after"]
    drift_final = last["effective_drift_after"]
    reached = te_final is not None and te_min is not None and te_final <= te_min + budget.tolerance
    gap = None
    if te_min is None:
        gap = f"the model cannot be reached in one unconstrained rebalance either: {one_shot['reason']}"
    elif not reached:
        gap = (
            f"tracking error {te_final:.2%} after step {budget.steps} is more than {budget.tolerance:.2%} "
            f"above the {te_min:.2%} of a one-shot rebalance: the budgets are too tight for "
            f"{budget.steps} step(s) (more steps, a higher --turnover or --tax-budget)"
            if te_final is not None
            else f"step {budget.steps} was not solved"
        )
    return {
        "account": a.code,
        "account_id": a.id,
        "base_currency": a.base,
        "model": u.model_codes.get(model_id, str(model_id)),
        "model_id": model_id,
        "as_of": u.as_of.isoformat(),
        "steps": budget.steps,
        "turnover_budget": budget.turnover,
        "tax_budget": budget.tax_budget,
        "tolerance": budget.tolerance,
        "te_one_shot": te_min,
        "one_shot_tax": one_shot.get("est_tax") if te_min is not None else None,
        "one_shot_turnover": one_shot.get("turnover") if te_min is not None else None,
        "every_days": budget.every_days,
        "te_start": te0,
        "te_final": te_final,
        "drift_final": drift_final,
        "reaches_model": reached,
        "gap": gap,
        "total_tax": round(sum(s["est_tax"] for s in steps), 2),
        "total_turnover": round(sum(s["turnover"] for s in steps), 8),
        "projection": steps,
    }
