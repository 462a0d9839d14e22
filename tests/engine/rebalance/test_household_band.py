"""A household in a full run that skips in-band accounts: skipped when its aggregate is within
band (each account's own drift may be larger), solved when an account has cash to deploy.

The aggregate drift is computed here from each account's holdings at the universe's closes and
FX and its model (blend of the accounts' models by value), not from the household modules."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from engine.rebalance.book import AccountInput, Universe
from engine.rebalance.bulk import run_batch
from engine.rebalance.context import Context
from engine.rebalance.settings import RebalanceSettings
from engine.rebalance.shares import unit_shares
from engine.reports.numbers import allocate
from tests.engine.rebalance.test_household import _by_code, _household, _spec


def _weights(u: Universe, a: AccountInput) -> tuple[np.ndarray, float, float]:
    """Weights over the universe, the account's value in USD and its cash fraction."""
    fx = u.fx_to["USD"]
    vals = np.zeros(len(u.ids))
    for i, q in zip(a.lot_sec.tolist(), a.lot_qty.tolist()):
        vals[i] += q * u.price[i] * u.multiplier[i] * fx[str(u.currency[i])]
    cash = sum(v * fx[c] for c, v in a.cash.items())
    total = vals.sum() + cash
    return vals / total, total, cash / total


def _drifts(u: Universe, accts: list[AccountInput]) -> tuple[list[float], float]:
    """Each account's largest drift to its model (securities), and the household aggregate's."""
    own, agg, tgt, values = [], 0.0, 0.0, []
    for a in accts:
        w, v, _ = _weights(u, a)
        model = u.models[a.model_id or -1] * (1.0 - a.cash_target)
        own.append(float(np.abs(w - model).max()))
        values.append(v)
        agg, tgt = agg + v * w, tgt + v * model
    return own, float(np.abs((agg - tgt) / sum(values)).max())


def test_an_in_band_household_is_skipped_and_cash_to_deploy_solves_it(loaded: Any) -> None:
    u, _ = loaded
    by = _by_code(loaded)
    accts = None
    for pair in (
        ("A000012", "A000037"),
        ("A000005", "A000016"),
        ("A000008", "A000009"),
        ("A000001", "A000002"),
    ):
        cand = [by[c] for c in pair]
        own, hh = _drifts(u, cand)
        cash_ok = all(_weights(u, a)[2] - a.cash_target < 0.01 for a in cand)
        no_excl = all(not set(a.excluded.tolist()) & set(a.lot_sec.tolist()) for a in cand)
        if hh < min(own) - 0.002 and cash_ok and no_excl:
            accts, band = cand, (hh + min(own)) / 2
            break
    assert accts is not None  # a demo household whose aggregate drifts less than its accounts
    members = _household([replace(a, band=band) for a in accts], _spec())
    ctx = Context(u, RebalanceSettings(households=True))  # skip_in_band on (the default)
    recs = run_batch(ctx, members)
    assert [r["rung"] for r in recs] == ["in-band", "in-band"]
    assert all(r["trades"] == [] and r["reason"].startswith("household within band") for r in recs)
    assert recs[0]["household"]["rung"] == "in-band"
    # Cash far above target in one account (a cash need): the household is solved.
    first = members[0]
    _, value_usd, _ = _weights(u, first)
    extra = 0.25 * value_usd / u.fx_to["USD"][first.base]  # a deposit: 20% of the account in cash
    rich = replace(first, cash={**first.cash, first.base: first.cash.get(first.base, 0.0) + extra})
    assert _weights(u, rich)[2] - rich.cash_target > band
    solved = run_batch(ctx, [rich, members[1]])
    assert {r["rung"] for r in solved} == {"household"}
    assert any(t["side"] == "buy" for r in solved for t in r["trades"])


def test_unit_shares_are_allocates_numbers() -> None:
    rng = np.random.default_rng(7)
    for t in range(3000):
        n = int(rng.integers(1, 150))
        x = rng.random(n) ** 4
        if t % 5 == 0:
            x[0] = -0.02  # a negative cash balance
        if t % 9 == 0:
            x[: n // 2] = 1.0  # equal values: ties broken toward the earlier value
        vals = (x / x.sum()).tolist()
        assert unit_shares(vals, 8) == [float(d) for d in allocate(vals, 8, 1)]
        assert sum(round(v * 1e8) for v in unit_shares(vals, 8)) == 10**8
    assert unit_shares([0.29, 0.71], 8) == [0.29, 0.71]  # 0.29 * 1e8 is 28999999.999999996 in floats
    assert unit_shares([1 / 3] * 3, 8) == [0.33333334, 0.33333333, 0.33333333]
