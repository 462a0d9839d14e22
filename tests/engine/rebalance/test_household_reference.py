"""The fast household QP (Clarabel data built with numpy/scipy) against the same problem written
in cvxpy from the formulation in `household_qp`'s docstring: same objective (within 1e-4) and the
same buys and sells per account and security, on households of the demo book."""

from __future__ import annotations

from typing import Any

import cvxpy as cp
import numpy as np
import pytest

from engine.rebalance.context import Context
from engine.rebalance.household_figures import prepare_all, shares_of, target_of
from engine.rebalance.household_qp import (
    ACCOUNT_TE,
    LOCATION,
    Member,
    signed_lot_tax,
    solve_household_qp,
    tax_inefficient,
)
from engine.rebalance.household_solve import _values
from engine.rebalance.settings import RebalanceSettings
from tests.engine.rebalance.test_household import _by_code, _household, _spec

NO_LIMIT = 9.99


def _arr(v: Any, n: int | None = None) -> np.ndarray:
    a = np.asarray(v, dtype=float)
    return a if n is None else a[..., :n]


def _cvxpy(members: list[Member], u: Any, union: np.ndarray, target: np.ndarray, s: RebalanceSettings,
           ytd: float, budget: float | None) -> tuple[float, list[tuple[np.ndarray, np.ndarray]]]:  # fmt: skip
    ra, tp, cpen = s.risk_aversion, s.trade_penalty, s.cash_penalty
    obj: Any = 0
    cons: list[Any] = []
    agg: Any = -target
    taxes: Any = 0
    out = []
    for m in members:
        v, n = m.values, m.p.n
        w0, wm, bt = _arr(v["w0"], n), _arr(v["wm"], n), _arr(v["bt"])[:, :n]
        cost, lot_w = _arr(v["cost"], n), _arr(v["lot_w"])[:n]
        buy_ub = _arr(v["buy_ub"], n)
        b = cp.Variable(n, nonneg=True)
        lots = cp.Variable(lot_w.shape, nonneg=True)
        cons += [b <= buy_ub, lots <= lot_w]
        sold = cp.sum(lots, axis=1)
        d = w0 - wm + b - sold
        c = float(v["c0"]) - (1 + cost) @ b + (1 - cost) @ sold
        ct, cb = float(v["ct"]), float(v["cash_band"])
        cons.append(c >= max(float(v["cash_min"]), ct - cb))
        if min(float(v["cash_max"]), ct + cb) < NO_LIMIT:
            cons.append(c <= min(float(v["cash_max"]), ct + cb))
        d_hi = np.minimum(_arr(v["band"], n), _arr(v["d_ub"], n))
        hi = d_hi < NO_LIMIT
        if hi.any():
            cons.append(d[hi] <= d_hi[hi])
        groups, caps = _arr(v["groups"])[:, :n], _arr(v["caps"])
        real = groups.any(axis=1)
        if real.any():
            cons.append(groups[real] @ d <= caps[: len(real)][real])
        cons.append(cp.sum(b) + cp.sum(lots) <= float(v["turnover"]))
        if float(v["gains_budget"]) < NO_LIMIT:
            cons.append(cp.sum(cp.multiply(_arr(v["gain"])[:n], lots)) <= float(v["gains_budget"]))
        var = _arr(v["spec2"], n) + (bt * bt).sum(axis=0)  # each security's own variance
        own = ra * ACCOUNT_TE * cp.sum(cp.multiply(var, cp.square(d))) + cpen * cp.square(c - ct)
        own += (cost + tp) @ b + cp.sum(cp.multiply((cost + tp)[:, None] * (lot_w > 0), lots))
        if m.taxable:
            own += LOCATION * cp.sum(d[tax_inefficient(u, m.p.idx)])
            taxes += m.share * cp.sum(cp.multiply(signed_lot_tax(m.p)[:n], lots))
        obj += m.share * own
        pos = np.searchsorted(union, m.p.idx)
        E = np.zeros((len(union), n))
        E[pos, np.arange(n)] = 1.0
        agg = agg + m.share * (E @ (wm + d))
        out.append((b, lots))
    B = u.exposures[union]
    spec2 = u.specific[union] ** 2
    t = cp.Variable(nonneg=True)
    cons.append(t >= ytd + taxes)
    if budget is not None:
        cons.append(ytd + taxes <= budget)
    obj += ra * (cp.sum_squares(B.T @ agg) + cp.sum(cp.multiply(spec2, cp.square(agg)))) + t
    prob = cp.Problem(cp.Minimize(obj), cons)
    prob.solve(solver=cp.CLARABEL)
    assert prob.status == "optimal"
    return float(prob.value), [(np.asarray(b.value), np.asarray(lots.value).sum(axis=1)) for b, lots in out]


@pytest.mark.parametrize(
    ("codes", "spec_kw", "budget"),
    [
        (("A000012", "A000037"), {}, None),  # a taxable account and an IRA: asset location
        (("A000005", "A000016"), {"ytd_gain": 50_000.0, "ytd_tax": 18_500.0}, None),  # the year's gains
        (("A000008", "A000009", "A000010"), {}, 0.0005),  # a tax budget (fraction of the household)
    ],
)
def test_fast_household_qp_matches_the_cvxpy_formulation(
    loaded: Any, codes: tuple[str, ...], spec_kw: dict[str, Any], budget: float | None
) -> None:
    u, _ = loaded
    by = _by_code(loaded)
    accounts = _household([by[c] for c in codes], _spec(**spec_kw))
    s = RebalanceSettings(households=True, skip_in_band=False)
    ctx = Context(u, s)
    spec = accounts[0].group
    assert spec is not None
    preps = prepare_all(ctx, accounts)
    shares = shares_of(u, spec, preps)
    union = np.unique(np.concatenate([p.idx for p in preps]))
    target = target_of(u, spec, preps, shares, union)
    members = [
        Member(p, float(sh), p.account.tax_status == "taxable", _values(p, u)) for p, sh in zip(preps, shares)
    ]
    value_h = float(sum(p.value * u.fx_to["USD"][p.account.base] for p in preps))
    ytd = spec.ytd_tax / value_h
    fast = solve_household_qp(
        members, u, union, target, s.risk_aversion, s.trade_penalty, s.cash_penalty, ytd, budget, 30.0
    )
    assert fast.status == "optimal" and fast.sol is not None and fast.objective is not None
    ref_obj, ref = _cvxpy(members, u, union, target, s, ytd, budget)
    assert fast.objective == pytest.approx(ref_obj, abs=1e-4)
    traded = 0.0
    for (buy, sell), (rb, rs) in zip(fast.sol, ref):
        np.testing.assert_allclose(buy, rb, atol=2e-4)
        np.testing.assert_allclose(sell, rs, atol=2e-4)
        traded += float(buy.sum() + sell.sum())
    assert traded > 0.01  # the households do trade: the comparison is not of two empty solutions
