"""The tax-aware rebalance as a cvxpy problem, built once per shape with DPP Parameters.

This is the documented reference model (quality tests solve it with SCS); runs solve the same QP
without cvxpy, built straight for Clarabel in `qp.py`.

Decision variables are fractions of the account's pre-trade value V (base currency):
buys b (per security) and sells per lot slot, so each sell can be matched to its lots.

    minimise  ra * (|B'd|^2 + |s o d|^2),  d = w - w_m      tracking error^2 (factor form, annual)
              + cost'(b + S)                                    commission + spread per market
              + sum(tax o l)                                    estimated tax per lot (gains only,
                                                                losses count only in harvest mode)
              + tp * sum(b + S)                                 convex stand-in for the trade count
              + cp * (c - c_target)^2                           cash target (soft)
    s.t.      w = w0 + b - S,  S = sum over slots of l          long only (l <= lot weight)
              0 <= b <= buy_ub,  0 <= l <= lot_w                 exclusions, wash sales, modes
              -band <= d <= min(band, w_ub - w_m)               exclusions, issuer cap, soft band
              G d <= caps - G w_m                               sector/country/issuer caps
              c = c0 + sum(S) - sum(b) - cost'(b + S)           cash after trades and costs
              max(cash_min, ct - cash_band) <= c <= min(cash_max, ct + cash_band)
              sum(b + S) <= turnover;  gain'l <= gains_budget   turnover cap, tax budget
The soft band and cash band are relaxed on rung 2.

Compact form (the solve cost is the size of the KKT system): only *sellable* lots get a
variable. The caller passes the logical arrays (n securities x L lot slots); `solve` orders
the securities by how many sellable lots they have, so slot j needs variables only for the first
m_j securities (S = l_0 + [l_1; 0] + [l_2; 0] ...), and maps the solution back. Sizes are padded
to buckets (padding has zero bounds), so one compiled problem serves every account that fits.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import scipy.sparse as sps

from engine.rebalance.buckets import SIZE_BUCKETS, SLOT_BUCKETS, bucket
from engine.rebalance.prepare import Prepared
from engine.rebalance.settings import RebalanceSettings

# Weights are fractions of the account: 1e-7 is far below a board lot, and saves iterations.
SOLVER_TOLERANCES = {"tol_gap_abs": 1e-7, "tol_gap_rel": 1e-7, "tol_feas": 1e-7}


@dataclass(frozen=True)
class Shape:
    n: int  # securities (padded)
    slots: tuple[int, ...]  # sellable-lot variables per slot (padded), decreasing
    groups: int
    factors: int
    risk_aversion: float
    trade_penalty: float
    cash_penalty: float


@dataclass
class Layout:
    """How one account's logical arrays map onto a compiled problem's compact variables."""

    n: int  # real securities
    perm: np.ndarray  # problem position -> logical position (first n positions)
    order: np.ndarray  # per logical security: its lot slots, sellable first (n x L)
    counts: np.ndarray  # sellable lots per problem position, decreasing


def layout_of(values: dict[str, np.ndarray | float], n: int) -> Layout:
    """Sellable lots first within each security, securities with most sellable lots first."""
    lot_w = np.asarray(values["lot_w"])[:n]
    sellable = lot_w > 0
    order = np.argsort(~sellable, axis=1, kind="stable")
    cnt = sellable.sum(axis=1)
    perm = np.argsort(-cnt, kind="stable")
    return Layout(n, perm, order, cnt[perm])


def slots_needed(lay: Layout) -> tuple[int, ...]:
    """How many securities need a variable in each slot (m_0 >= m_1 >= ...)."""
    top = int(lay.counts[0]) if lay.n else 0
    return tuple(int((lay.counts > j).sum()) for j in range(max(top, 1)))


class RebalanceProblem:
    """One compiled problem; `solve` sets parameter values and re-solves (no recompilation)."""

    def __init__(self, shape: Shape) -> None:
        n, K, k = shape.n, shape.groups, shape.factors
        self.shape = shape
        P = cp.Parameter
        self.w0 = P(n, name="w0")
        self.wm = P(n, name="wm")
        self.bt = P((k, n), name="exposures")
        self.spec2 = P(n, nonneg=True, name="specific_var")
        self.cost = P(n, nonneg=True, name="cost")
        self.buy_ub = P(n, nonneg=True, name="buy_ub")
        self.d_hi = P(n, name="d_hi")  # min(band, w_ub - w_m)
        self.d_lo = P(n, nonneg=True, name="d_lo")  # band below the model
        self.groups = P((K, n), nonneg=True, name="groups")
        self.caps = P(K, name="caps")  # caps - G w_m
        self.c0 = P(name="c0")
        self.ct = P(name="ct")
        self.c_lo = P(name="c_lo")
        self.c_hi = P(name="c_hi")
        self.turnover = P(nonneg=True, name="turnover")
        self.gains_budget = P(name="gains_budget")
        self.tax: list[cp.Parameter] = []
        self.gain: list[cp.Parameter] = []
        self.lot_w: list[cp.Parameter] = []
        self.l: list[cp.Variable] = []

        self.b = cp.Variable(n, nonneg=True, name="buy")
        self.d = cp.Variable(n, name="active")
        self.c = cp.Variable(name="cash")
        self.f = cp.Variable(k, name="factor_active")
        sells: cp.Expression = 0
        tax_term: cp.Expression = 0
        gain_term: cp.Expression = 0
        for j, m in enumerate(shape.slots):
            if m == 0:
                continue
            lj = cp.Variable(m, nonneg=True, name=f"sell_slot{j}")
            tj = P(m, name=f"tax{j}")
            gj = P(m, name=f"gain{j}")
            wj = P(m, nonneg=True, name=f"lot_w{j}")
            self.l.append(lj)
            self.tax.append(tj)
            self.gain.append(gj)
            self.lot_w.append(wj)
            lift = sps.eye_array(n, m, format="csc") if m < n else None
            sells = sells + (lift @ lj if lift is not None else lj)
            tax_term = tax_term + tj @ lj
            gain_term = gain_term + gj @ lj
        self.sells = sells
        traded = self.b + sells
        # Factor exposures as their own variable keep the quadratic term diagonal (sparse KKT).
        te2 = cp.sum_squares(self.f) + cp.sum(cp.multiply(self.spec2, cp.square(self.d)))
        self.te2 = te2
        objective = (
            shape.risk_aversion * te2
            + self.cost @ traded
            + tax_term
            + shape.trade_penalty * cp.sum(traded)
            + shape.cash_penalty * cp.square(self.c - self.ct)
        )
        constraints = [
            self.d == self.w0 - self.wm + self.b - sells,
            self.f == self.bt @ self.d,
            self.c == self.c0 + cp.sum(sells) - cp.sum(self.b) - self.cost @ traded,
            self.b <= self.buy_ub,
            self.d <= self.d_hi,
            -self.d <= self.d_lo,
            self.groups @ self.d <= self.caps,
            self.c >= self.c_lo,
            self.c <= self.c_hi,
            cp.sum(traded) <= self.turnover,
            *[lj <= wj for lj, wj in zip(self.l, self.lot_w)],
        ]
        if shape.slots and shape.slots[0] > 0:
            constraints.append(gain_term <= self.gains_budget)
        self.problem = cp.Problem(cp.Minimize(objective), constraints)
        assert self.problem.is_dpp()
        self.layout: Layout | None = None

    def set_values(self, values: dict[str, np.ndarray | float]) -> None:
        """Map the logical arrays (n securities x L lot slots, see prepare) onto the parameters."""
        n = int(np.asarray(values["w0"]).shape[0])
        lay = self.layout = layout_of(values, n)
        N = self.shape.n
        perm = lay.perm

        def vec(name: str, fill: float = 0.0) -> np.ndarray:
            out = np.full(N, fill)
            out[:n] = np.asarray(values[name], dtype=float)[:n][perm]
            return out

        def mat(name: str, rows: int) -> np.ndarray:
            src = np.asarray(values[name], dtype=float)
            out = np.zeros((rows, N))
            out[: src.shape[0], :n] = src[:, :n][:, perm]
            return out

        band = vec("band")
        set_ = _set
        set_(self.w0, vec("w0"))
        set_(self.wm, vec("wm"))
        set_(self.bt, mat("bt", self.shape.factors))
        set_(self.spec2, vec("spec2"))
        set_(self.cost, vec("cost"))
        set_(self.buy_ub, vec("buy_ub"))
        set_(self.d_hi, np.minimum(band, vec("d_ub")))
        set_(self.d_lo, band)
        groups = mat("groups", self.shape.groups)
        caps = np.full(self.shape.groups, 10.0)
        src_caps = np.asarray(values["caps"], dtype=float)
        caps[: len(src_caps)] = src_caps
        set_(self.groups, groups)
        set_(self.caps, caps)
        ct = float(values["ct"])
        cash_band = float(values["cash_band"])
        set_(self.c0, float(values["c0"]))
        set_(self.ct, ct)
        set_(self.c_lo, max(float(values["cash_min"]), ct - cash_band))
        set_(self.c_hi, min(float(values["cash_max"]), ct + cash_band))
        set_(self.turnover, float(values["turnover"]))
        set_(self.gains_budget, float(values["gains_budget"]))
        rows = np.arange(n)[:, None]
        lot_w = np.asarray(values["lot_w"], dtype=float)[:n][rows, lay.order][perm]
        tax = np.asarray(values["tax"], dtype=float)[:n][rows, lay.order][perm]
        gain = np.asarray(values["gain"], dtype=float)[:n][rows, lay.order][perm]
        need = slots_needed(lay)
        if len(need) > len(self.l) + self.shape.slots.count(0) or any(
            m > cap for m, cap in zip(need, self.shape.slots)
        ):
            raise ValueError(f"account needs lot slots {need}, problem has {self.shape.slots}")
        for j, (tj, gj, wj) in enumerate(zip(self.tax, self.gain, self.lot_w)):
            m = wj.shape[0]
            w = np.zeros(m)
            t = np.zeros(m)
            g = np.zeros(m)
            if j < lot_w.shape[1]:
                take = min(m, n)
                w[:take] = lot_w[:take, j]
                t[:take] = tax[:take, j]
                g[:take] = gain[:take, j]
            set_(wj, w)
            set_(tj, t)
            set_(gj, g)

    def solve(self, values: dict[str, np.ndarray | float], time_limit: float, **opts: object) -> str:
        """Set every parameter from `values` (logical arrays) and solve with Clarabel."""
        self.set_values(values)
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

    def solution(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(buy weights, sell weights) per logical security after a solve, or None."""
        lay = self.layout
        if lay is None or self.b.value is None:
            return None
        n = lay.n
        buy = np.zeros(n)
        sell = np.zeros(n)
        buy[lay.perm] = self.b.value[:n]
        total = np.zeros(self.shape.n)
        for lj in self.l:
            if lj.value is not None:
                total[: lj.shape[0]] += lj.value
        sell[lay.perm] = total[:n]
        return buy, sell


def _set(param: cp.Parameter, value: np.ndarray | float) -> None:
    # Values come from prepare() with the right shapes and signs; cvxpy's per-assignment
    # validation (allclose checks) costs more than the solve's data update, so skip it.
    param._value = np.asarray(value, dtype=float) if param.ndim else float(value)


def shape_for(
    values: dict[str, np.ndarray | float], n: int, k_pad: int, factors: int, **weights: float
) -> Shape:
    """The padded shape that fits this account's logical arrays."""
    need = slots_needed(layout_of(values, n))
    n_pad = bucket(n, SIZE_BUCKETS)
    slots = (n_pad, *(min(bucket(m, SLOT_BUCKETS), n_pad) for m in need[1:])) if need[0] else (0,)
    return Shape(n=n_pad, slots=slots, groups=k_pad, factors=factors, **weights)


_CACHE: dict[Shape, RebalanceProblem] = {}


def _fits(big: Shape, small: Shape) -> bool:
    """A compiled problem serves a smaller one of the same size: extra lot slots stay at zero."""
    return (
        big.n == small.n
        and big.groups == small.groups
        and big.factors == small.factors
        and (big.risk_aversion, big.trade_penalty, big.cash_penalty)
        == (small.risk_aversion, small.trade_penalty, small.cash_penalty)
        and len(big.slots) >= len(small.slots)
        and all(b >= m for b, m in zip(big.slots, small.slots))
    )


def problem_for(shape: Shape) -> RebalanceProblem:
    """The compiled problem for a shape (or one already compiled that fits it), built once per process."""
    prob = _CACHE.get(shape)
    if prob is None:
        prob = next((p for sh, p in _CACHE.items() if _fits(sh, shape)), None)
        if prob is None:
            prob = RebalanceProblem(shape)
        _CACHE[shape] = prob
    return prob


def shape_of(p: Prepared, s: RebalanceSettings) -> Shape:
    return shape_for(
        p.values,
        p.n,
        p.k_pad,
        p.values["bt"].shape[0],  # type: ignore[union-attr]
        risk_aversion=s.risk_aversion,
        trade_penalty=s.trade_penalty,
        cash_penalty=s.cash_penalty,
    )
