"""Transition plans on the shared demo book: each step within its turnover and tax budgets
(recomputed from the trades at the book's prices and the lots' gains), tracking error falling
step by step (or the reason named), and the last step reaching the model (within the tolerance
of a one-shot rebalance); budgets too tight say so."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from engine.errors import NotFound, WorkstationError
from engine.rebalance.book import AccountInput, Universe
from engine.rebalance.settings import RebalanceSettings
from engine.rebalance.taxes import TAX_RATES
from engine.rebalance.transition import TE_TOL, Budget, apply_step, plan_transition, solve_step

TURNOVER = 0.30
TAX = 5000.0


def _pick(loaded: tuple[Universe, list[AccountInput]]) -> tuple[Universe, AccountInput, int]:
    """A taxable GBP account on a 60/40 model, moved onto the global equity model (a legacy portfolio)."""
    u, accounts = loaded
    a = next(x for x in accounts if x.code == "A000003")
    assert (a.base, a.tax_status, u.model_codes[a.model_id or -1]) == ("GBP", "taxable", "BAL6040")
    return u, a, {v: k for k, v in u.model_codes.items()}["GLOBAL"]


def _turnover(u: Universe, a: AccountInput, rec: dict[str, Any]) -> float:
    """(buys + sells) / value, from quantities at the book's close, multiplier and FX (not the record's values)."""
    index = {str(s): i for i, s in enumerate(u.symbols)}
    traded = 0.0
    for t in rec["trades"]:
        i = index[t["symbol"]]
        traded += t["quantity"] * u.price[i] * u.multiplier[i] * u.fx_to[a.base][str(u.currency[i])]
    return traded / rec["value_base"]


def _tax(rec: dict[str, Any]) -> float:
    """GB: 24% on every sold lot's gain, short or long (signed: a loss saves tax)."""
    rates = TAX_RATES["GB"]
    assert rates.short_term == rates.long_term == 0.24
    return sum(
        lot["gain"] * (rates.long_term if lot["term"] == "long" else rates.short_term)
        for t in rec["trades"]
        if t["side"] == "sell"
        for lot in t["lots"]
    )


@pytest.fixture(scope="module")
def plan(loaded: tuple[Universe, list[AccountInput]]) -> dict[str, Any]:
    u, a, target = _pick(loaded)
    return plan_transition(u, a, target, Budget(steps=4, turnover=TURNOVER, tax_budget=TAX))


def test_each_step_is_within_its_budgets_recomputed_from_its_trades(
    loaded: tuple[Universe, list[AccountInput]],
) -> None:
    """Walk the steps by hand (solve, apply, solve...) and recompute each step's turnover and tax."""
    u, a, target = _pick(loaded)
    budget = Budget(steps=3, turnover=TURNOVER, tax_budget=TAX)
    acct = replace(a, model_id=target, relief="min_tax")
    value0 = None
    for i in range(1, 4):
        rec = solve_step(u, acct, RebalanceSettings(), budget, u.as_of)
        assert rec["status"] == "ok", rec["reason"]
        assert rec["trades"], f"step {i} trades nothing"
        assert _turnover(u, acct, rec) <= TURNOVER + 1e-9
        assert rec["turnover"] == pytest.approx(_turnover(u, acct, rec), abs=1e-6)
        assert _tax(rec) == pytest.approx(rec["est_tax"], abs=0.05 * len(rec["trades"]) + 0.01)
        assert rec["est_tax"] <= TAX + 0.01
        # The next step starts where this one ended: holdings and cash as the record has them after.
        nxt = apply_step(u, acct, rec, u.as_of, i)
        held: dict[str, float] = {}
        for s, q in zip(nxt.lot_sec, nxt.lot_qty):
            held[str(u.symbols[s])] = held.get(str(u.symbols[s]), 0.0) + float(q)
        assert held == pytest.approx(rec["after"]["holdings"])
        assert nxt.cash == pytest.approx(rec["after"]["cash"])
        value0 = value0 or rec["value_base"]
        acct = nxt
    assert value0 is not None


def test_plan_tracking_error_falls_and_the_last_step_reaches_the_model(plan: dict[str, Any]) -> None:
    steps = plan["projection"]
    assert [s["step"] for s in steps] == [1, 2, 3, 4]
    assert all(s["status"] == "ok" and s["within_budget"] for s in steps)
    for s in steps:
        assert s["turnover"] <= TURNOVER + 1e-9 and s["est_tax"] <= TAX + 0.01
        assert s["te_after"] <= s["te_before"] + TE_TOL or s["te_note"], s
    for prev, nxt in itertools.pairwise(steps):  # each step starts from the one before
        assert nxt["te_before"] == pytest.approx(prev["te_after"], abs=1e-7)
    assert steps[0]["te_before"] > 2 * steps[-1]["te_after"]  # a real move, not a touch-up
    assert plan["reaches_model"] is True and plan["gap"] is None
    assert plan["te_final"] <= plan["te_one_shot"] + plan["tolerance"]
    assert plan["total_tax"] == pytest.approx(sum(s["est_tax"] for s in steps), abs=0.01)
    # The one-shot rebalance would turn over far more than any step is allowed.
    assert plan["one_shot_turnover"] > TURNOVER


def test_budgets_too_tight_say_so(loaded: tuple[Universe, list[AccountInput]]) -> None:
    u, a, target = _pick(loaded)
    out = plan_transition(u, a, target, Budget(steps=1, turnover=0.05))
    assert out["reaches_model"] is False
    assert "budgets are too tight for 1 step(s)" in out["gap"]
    assert out["projection"][0]["turnover"] <= 0.05 + 1e-9


def test_bad_terms_are_refused(loaded: tuple[Universe, list[AccountInput]]) -> None:
    u, a, target = _pick(loaded)
    with pytest.raises(WorkstationError, match=r"steps must be 1 to 24.*turnover must be above 0"):
        plan_transition(u, a, target, Budget(steps=0, turnover=0.0))
    with pytest.raises(NotFound):
        plan_transition(u, a, 999_999, Budget(steps=2, turnover=0.2))


def test_a_step_that_rises_names_why() -> None:
    from engine.rebalance.transition import _te_note

    base = {"status": "ok", "te_before": 0.0100, "te_after": 0.0110, "turnover": 0.02, "reason": "optimal"}
    assert "tracking error rises 1.0000% -> 1.1000%" in str(_te_note({**base, "drift_note": "cash floor: x"}))
    assert "cash floor: x" in str(_te_note({**base, "drift_note": "cash floor: x"}))
    assert _te_note({**base, "te_after": 0.0100, "drift_note": None}) is None
    assert np.isfinite(base["te_before"])
