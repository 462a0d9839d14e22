"""One account with the run's style rules that need the finished proposal: tax budget, deferral,
the improvement threshold.

* **Tax budget after rounding.** The budget is a row of the QP (`qp_year`, 98% of the cap); if the
  rounded proposal still crosses it, the cap is tightened by 1.5x the overshoot and the account
  solved again (up to 3 times). If the sales the account must make cost more than the budget
  (the solve is infeasible with it, or only the heuristic rung, which ignores it, passes), it is
  solved without the budget, `tax_budget.kept` is false and the reason says so.
* **Gains deferral forced.** If the account is infeasible while deferred lots are held back, it
  is solved again without the deferral; each sale of a deferred lot then names the deferral and
  the constraint that forced it.
* **Improvement threshold.** A proposal whose tracking error falls by less than
  `min_improvement` is replaced by no trades, rung `below-threshold`, the reason giving both
  figures (an account that must sell an excluded holding is never skipped).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import numpy as np

from engine.rebalance.book import AccountInput
from engine.rebalance.context import Context
from engine.rebalance.settings import Mode, RebalanceSettings
from engine.rebalance.solve import rebalance_account
from engine.rebalance.styles import style_note
from engine.rebalance.taxes import is_long_term

TAX_TOL = 0.01  # base currency: rounding of the record's figures
TIGHTEN = 1.5
TIGHTEN_PASSES = 3
THRESHOLD_MODES = (Mode.FULL, Mode.CASH_DEPLOY, Mode.BUY_ONLY, Mode.SELL_ONLY)


def rebalance_styled(ctx: Context, a: AccountInput, spent: dict[int, float]) -> dict[str, Any]:
    """The account's record; `spent` (tax of the household's accounts solved earlier in this run,
    by household id) is updated."""
    s = ctx.s
    if a.year is not None and spent.get(a.household_id):
        a = replace(a, year=replace(a.year, spent=spent[a.household_id]))
    rec = rebalance_account(ctx, a)
    rec = _budget(ctx, a, rec)
    if rec["status"] == "infeasible" and s.defer_gains_days > 0 and not rec.get("suspended"):
        rec = _forced_deferral(ctx, a, rec)
    if a.year is not None and a.year.active() and rec.get("drift_note"):
        rec = _year_note(a, rec)
    if rec["status"] == "ok" and not rec.get("drift_note"):
        rec = _te_note(s, a, rec)
    if s.min_improvement > 0 and s.mode in THRESHOLD_MODES:
        rec = below_threshold(a, s, rec)
    if rec["status"] == "ok":
        spent[a.household_id] = spent.get(a.household_id, 0.0) + float(rec["est_tax"])
    return rec


def _budget(ctx: Context, a: AccountInput, rec: dict[str, Any]) -> dict[str, Any]:
    y = a.year
    cap = y.cap() if y is not None else None
    if y is None or cap is None:
        return rec
    for _ in range(TIGHTEN_PASSES):
        over = float(rec.get("est_tax", 0.0)) - cap
        if rec["status"] != "ok" or rec["rung"] == "heuristic" or over <= TAX_TOL:
            break
        y = replace(y, tighten=y.tighten + TIGHTEN * over)
        rec = rebalance_account(ctx, replace(a, year=y))
    budget = {
        "cap": round(cap, 2),
        "ytd_tax": round(y.ytd_tax, 2),
        "spent_in_run": round(y.spent, 2),
        "kept": True,
    }
    # The heuristic rung ignores the budget: a budget the optimiser cannot meet is named instead.
    missed = rec["status"] == "ok" and (rec["rung"] == "heuristic" or float(rec["est_tax"]) > cap + TAX_TOL)
    if (missed or rec["status"] == "infeasible") and not rec.get("suspended"):
        free = replace(y, account_budget=None, household_budget=None, tighten=0.0)
        again = rebalance_account(ctx, replace(a, year=free))
        if again["status"] == "ok":
            budget["kept"] = False
            why = (
                f"tax budget {cap:,.2f} {a.base} infeasible (the sales the account must make cost more, "
                "or rounding crosses it): solved without it"
            )
            rec = {**again, "reason": f"{why}; {again['reason']}"}
    return {**rec, "tax_budget": budget}


def _forced_deferral(ctx: Context, a: AccountInput, rec: dict[str, Any]) -> dict[str, Any]:
    s = ctx.s
    again = rebalance_account(Context(ctx.u, replace(s, defer_gains_days=0)), a)
    if again["status"] != "ok":
        return rec
    sale = s.trade_date or ctx.u.as_of
    later = sale + timedelta(days=s.defer_gains_days)
    binding = str(rec["reason"]).split(":")[0]
    forced = 0
    for t in again["trades"]:
        for lot in t.get("lots", []):
            acq = np.array([lot["acquired"]], dtype="datetime64[D]")
            if lot["term"] == "short" and lot["gain"] > 0 and bool(is_long_term(acq, later)[0]):
                forced += 1
                t["reason"] += (
                    f"; gains deferral overridden: lot {lot['lot_id']} turns long-term within "
                    f"{s.defer_gains_days} days, sold because {binding}"
                )
    why = f"gains deferral: {forced} lot(s) turning long-term sold, forced by {binding}"
    return {**again, "reason": f"{why}; {again['reason']}"}


def _te_note(s: RebalanceSettings, a: AccountInput, rec: dict[str, Any]) -> dict[str, Any]:
    """A proposal whose tracking error grows (while drift does not) names why too."""
    te0, te1 = float(rec["before"]["tracking_error"]), float(rec["after"]["tracking_error"])
    if te1 <= te0 + 1e-9 or not rec["trades"]:
        return rec
    why = [n for n in (style_note(s),) if n]
    if s.defer_gains_days > 0:
        why.append(f"gains deferral: lots turning long-term within {s.defer_gains_days} days are held back")
    if a.year is not None and a.year.cap() is not None:
        why.append(f"tax budget: at most {a.year.cap():,.0f} {a.base} of tax this run")
    if s.mode != Mode.FULL:
        why.append(f"{s.mode} run")
    if not why:
        why.append("board lots and the minimum trade after rounding")
    note = f"tracking error grows {te0:.3%} -> {te1:.3%}: " + "; ".join(why)
    return {**rec, "drift_note": note}


def _year_note(a: AccountInput, rec: dict[str, Any]) -> dict[str, Any]:
    """Name the tax year in the drift note when losses were sold against the year's gains, or the
    budget held gains back."""
    assert a.year is not None
    losses = -sum(min(float(lot["gain"]), 0.0) for t in rec["trades"] for lot in t.get("lots", []))
    notes = [n for n in str(rec["drift_note"]).split("; ") if not n.startswith("unexplained")]
    if losses > 0 and a.year.ytd_tax > 0:
        notes.insert(0, f"tax year: {losses:,.0f} {a.base} of losses sold against the household's "
                     f"year-to-date tax of {a.year.ytd_tax:,.0f} {a.base}")  # fmt: skip
    cap = a.year.cap()
    if cap is not None:
        notes.insert(0, f"tax budget: at most {cap:,.0f} {a.base} of tax this run")
    return {**rec, "drift_note": "; ".join(notes) if notes else rec["drift_note"]}


def below_threshold(a: AccountInput, s: RebalanceSettings, rec: dict[str, Any]) -> dict[str, Any]:
    """No trades when the tracking error improves by less than the threshold."""
    if rec["status"] != "ok" or not rec["trades"]:
        return rec
    if not a.keep_legacy and np.isin(a.lot_sec, a.excluded).any():
        return rec  # a forced sale is never skipped
    te0 = float(rec["before"]["tracking_error"])
    te1 = float(rec["after"]["tracking_error"])
    gain = te0 - te1
    if gain >= s.min_improvement:
        return rec
    why = (
        f"skipped: tracking error improves {gain:.4%} ({te0:.4%} -> {te1:.4%}), "
        f"less than the threshold {s.min_improvement:.4%}"
    )
    return skipped_record(rec, why, gain, s.min_improvement)


def skipped_record(rec: dict[str, Any], why: str, gain: float, threshold: float) -> dict[str, Any]:
    """The record with no trades (rung `below-threshold`): what it would have traded in `skipped`."""
    before = rec["before"]
    eff = rec.get("effective_drift") or {}
    return {
        **rec,
        "reason": why,
        "rung": "below-threshold",
        "trades": [],
        "fx_trades": [],
        "after": {k: dict(v) if isinstance(v, dict) else v for k, v in before.items()},
        "est_tax": 0.0,
        "est_cost": 0.0,
        "turnover": 0.0,
        "drift_note": None,
        "effective_drift": {"before": eff.get("before"), "after": eff.get("before")},
        "skipped": {"te_improvement": round(gain, 8), "threshold": threshold,
                    "trades": len(rec["trades"]), "turnover": rec["turnover"]},
    }  # fmt: skip
