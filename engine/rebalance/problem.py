"""The tax-aware rebalance as a cvxpy problem, built once per shape with DPP Parameters.

Decision variables are fractions of the account's pre-trade value V (base currency):
buys b (per security) and sells per lot l (per security x lot slot), so each sell names its lots.

    minimise  ra * (|B'd|^2 + |s o d|^2),  d = w - w_m      tracking error^2 (factor form, annual)
              + cost'(b + S)                                    commission + spread per market
              + sum(tax o l)                                    estimated tax per lot (gains only,
                                                                losses count only in harvest mode)
              + tp * sum(b + S)                                 convex stand-in for the trade count
              + cp * (c - c_target)^2                           cash target (soft)
    s.t.      w = w0 + b - S,  S = sum over slots of l          long only (l <= lot weight)
              0 <= b <= buy_ub,  0 <= l <= lot_w                 exclusions, wash sales, modes
              w <= w_ub;  G w <= caps                            exclusions, issuer/sector/country caps
                                                                (stated on d: w_ub - w_m, caps - G w_m)
              c = c0 + sum(S) - sum(b) - cost'(b + S)           cash after trades and costs
              cash_min <= c <= cash_max                         cash floor / raise / deploy
              sum(b + S) <= turnover;  gain'l <= gains_budget   turnover cap, tax budget
              |w - w_m| <= band, |c - c_target| <= cash band    soft targets: relaxed on rung 2
Padding slots have zero bounds, so one compiled problem serves every account up to its shape.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import cvxpy as cp
import numpy as np

SIZE_BUCKETS = (48, 96, 160, 224, 320, 480)
LOT_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16)
GROUP_BUCKETS = (16, 32, 64, 128)
RELAXED_BAND = 10.0
# Weights are fractions of the account: 1e-7 is far below a board lot, and saves iterations.
SOLVER_TOLERANCES = {"tol_gap_abs": 1e-7, "tol_gap_rel": 1e-7, "tol_feas": 1e-7}


def bucket(x: int, buckets: tuple[int, ...]) -> int:
    for b in buckets:
        if x <= b:
            return b
    return int(np.ceil(x / buckets[-1]) * buckets[-1])


@dataclass(frozen=True)
class Shape:
    n: int
    lots: int
    groups: int
    factors: int
    risk_aversion: float
    trade_penalty: float
    cash_penalty: float


class RebalanceProblem:
    """One compiled problem; `solve` sets parameter values and re-solves (no recompilation)."""

    def __init__(self, shape: Shape) -> None:
        n, L, K, k = shape.n, shape.lots, shape.groups, shape.factors
        self.shape = shape
        P = cp.Parameter
        self.w0 = P(n, name="w0")
        self.wm = P(n, name="wm")
        self.bt = P((k, n), name="exposures")
        self.spec2 = P(n, nonneg=True, name="specific_var")
        self.cost = P(n, nonneg=True, name="cost")
        self.tax = P((n, L), name="tax")
        self.gain = P((n, L), name="gain")
        self.lot_w = P((n, L), nonneg=True, name="lot_w")
        self.buy_ub = P(n, nonneg=True, name="buy_ub")
        self.d_ub = P(n, name="d_ub")  # w_ub - w_m
        self.groups = P((K, n), nonneg=True, name="groups")
        self.caps = P(K, name="caps")  # caps - G w_m
        self.c0 = P(name="c0")
        self.ct = P(name="ct")
        self.cash_min = P(name="cash_min")
        self.cash_max = P(name="cash_max")
        self.turnover = P(nonneg=True, name="turnover")
        self.gains_budget = P(name="gains_budget")
        self.band = P(n, nonneg=True, name="band")
        self.cash_band = P(nonneg=True, name="cash_band")

        self.b = cp.Variable(n, nonneg=True, name="buy")
        self.l = cp.Variable((n, L), nonneg=True, name="sell_lots")
        self.d = cp.Variable(n, name="active")
        self.c = cp.Variable(name="cash")
        self.f = cp.Variable(k, name="factor_active")
        sells = cp.sum(self.l, axis=1)
        traded = self.b + sells
        # Factor exposures as their own variable keep the quadratic term diagonal (sparse KKT).
        te2 = cp.sum_squares(self.f) + cp.sum(cp.multiply(self.spec2, cp.square(self.d)))
        self.te2 = te2
        objective = (
            shape.risk_aversion * te2
            + self.cost @ traded
            + cp.sum(cp.multiply(self.tax, self.l))
            + shape.trade_penalty * cp.sum(traded)
            + shape.cash_penalty * cp.square(self.c - self.ct)
        )
        constraints = [
            self.d == self.w0 - self.wm + self.b - sells,
            self.f == self.bt @ self.d,
            self.c == self.c0 + cp.sum(sells) - cp.sum(self.b) - self.cost @ traded,
            self.b <= self.buy_ub,
            self.l <= self.lot_w,
            self.d <= self.d_ub,
            self.groups @ self.d <= self.caps,
            self.c >= self.cash_min,
            self.c <= self.cash_max,
            cp.sum(traded) <= self.turnover,
            cp.sum(cp.multiply(self.gain, self.l)) <= self.gains_budget,
            self.d <= self.band,
            -self.d <= self.band,
            cp.abs(self.c - self.ct) <= self.cash_band,
        ]
        self.problem = cp.Problem(cp.Minimize(objective), constraints)
        assert self.problem.is_dpp()

    def solve(self, values: dict[str, np.ndarray | float], time_limit: float, **opts: object) -> str:
        """Set every parameter from `values` (by attribute name) and solve with Clarabel."""
        for name, value in values.items():
            # Values come from prepare() with the right shapes and signs; cvxpy's per-assignment
            # validation (allclose checks) costs more than the solve's data update, so skip it.
            param = getattr(self, name)
            param._value = np.asarray(value, dtype=float) if param.ndim else float(value)
        kwargs: dict[str, object] = {"time_limit": time_limit, **SOLVER_TOLERANCES}
        kwargs.update(opts)
        try:
            # warm_start=False: a fresh Clarabel solver per account, so a proposal never depends
            # on which accounts the process solved before (inline, pool and Dask agree exactly).
            with warnings.catch_warnings():  # "optimal_inaccurate" is reported as the status
                warnings.simplefilter("ignore", UserWarning)
                self.problem.solve(solver=cp.CLARABEL, warm_start=False, **kwargs)
        except cp.error.SolverError as exc:
            return f"solver_error: {exc}"
        return str(self.problem.status)


_CACHE: dict[Shape, RebalanceProblem] = {}


def problem_for(shape: Shape) -> RebalanceProblem:
    """The compiled problem for a shape, built once per process."""
    prob = _CACHE.get(shape)
    if prob is None:
        prob = _CACHE[shape] = RebalanceProblem(shape)
    return prob
