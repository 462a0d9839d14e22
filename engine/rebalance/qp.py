"""The rebalance QP handed straight to Clarabel: standard-form matrices built with numpy per account.

Same problem as `problem.RebalanceProblem` (the cvxpy model, kept as the documented reference
and for reference solves in the quality tests), without cvxpy at solve time: no per-shape
compile, no parameter mapping, no padding. Each account gets exactly its own sizes, and
variables that bounds fix at zero (no buy allowed, lot not sellable) are left out.

    x = [b (buyable securities), l (sellable lots), d (n), f (k factors), c]
    minimise   1/2 x'Px + q'x + cp*ct^2
        P: 2*ra on f, 2*ra*spec2 on d, 2*cp on c (diagonal)
        q: cost+tp on b; cost+tax+tp on l; -2*cp*ct on c
    equalities d - b + S l = w0 - wm;  f - B'd = 0;  c + (1+cost)'b - (1-cost)'S l = c0
    inequalities  0 <= b <= buy_ub;  0 <= l <= lot_w;  -d_lo <= d <= d_hi;  G d <= caps;
                  c_lo <= c <= c_hi;  sum(b) + sum(l) <= turnover;  gain'l <= gains_budget
Rows whose bound is the "no limit" sentinel (>= NO_LIMIT, see prepare.BIG) are left out: they
can never bind (weights are fractions of the account).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import clarabel
import numpy as np
import scipy.sparse as sps

NO_LIMIT = 9.99  # prepare.BIG and problem.RELAXED_BAND are 10: bounds that never bind
SOLVER_TOLERANCES = {"tol_gap_abs": 1e-7, "tol_gap_rel": 1e-7, "tol_feas": 1e-7}
# Clarabel's statuses in cvxpy's words (as cvxpy's own Clarabel interface maps them).
STATUS = {
    "Solved": "optimal",
    "AlmostSolved": "optimal_inaccurate",
    "PrimalInfeasible": "infeasible",
    "AlmostPrimalInfeasible": "infeasible_inaccurate",
    "DualInfeasible": "unbounded",
    "AlmostDualInfeasible": "unbounded_inaccurate",
    "MaxIterations": "user_limit",
    "MaxTime": "user_limit",
    "NumericalError": "solver_error",
    "InsufficientProgress": "solver_error",
}


@dataclass
class QPResult:
    status: str
    buy: np.ndarray | None  # per logical security (n)
    sell: np.ndarray | None
    objective: float | None
    iterations: int = 0


class DirectQP:
    """Builds and solves one account's rebalance QP; holds the last solution (like the cvxpy one)."""

    def __init__(self, risk_aversion: float, trade_penalty: float, cash_penalty: float) -> None:
        self.ra = risk_aversion
        self.tp = trade_penalty
        self.cp = cash_penalty
        self.last: QPResult | None = None

    def solve(self, values: dict[str, np.ndarray | float], time_limit: float, **opts: object) -> str:
        self.last = solve_qp(values, self.ra, self.tp, self.cp, time_limit, **opts)
        return self.last.status

    def solution(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(buy weights, sell weights) per logical security after a solve, or None."""
        if self.last is None or self.last.buy is None or self.last.sell is None:
            return None
        return self.last.buy, self.last.sell

    @property
    def objective(self) -> float | None:
        return None if self.last is None else self.last.objective


def build_qp(
    values: dict[str, np.ndarray | float], ra: float, tp: float, cpen: float, all_buy_rows: bool = False
) -> tuple[sps.csc_matrix, np.ndarray, sps.csc_matrix, np.ndarray, list[Any], dict[str, Any]]:
    """Clarabel data (P, q, A, b, cones) for the account's logical arrays, and the variable map.
    `all_buy_rows`: every buy gets an upper-bound row (NO_LIMIT when uncapped) and the map says
    where the buy and lot upper-bound rows are, so a re-solve can forbid trades through b alone."""
    w0 = np.asarray(values["w0"], dtype=float)
    n = w0.shape[0]
    wm = np.asarray(values["wm"], dtype=float)[:n]
    bt = np.asarray(values["bt"], dtype=float)[:, :n]
    k = bt.shape[0]
    spec2 = np.asarray(values["spec2"], dtype=float)[:n]
    cost = np.asarray(values["cost"], dtype=float)[:n]
    buy_ub = np.asarray(values["buy_ub"], dtype=float)[:n]
    band = np.asarray(values["band"], dtype=float)[:n]
    d_hi = np.minimum(band, np.asarray(values["d_ub"], dtype=float)[:n])
    d_lo = band
    groups = np.asarray(values["groups"], dtype=float)[:, :n]
    caps = np.asarray(values["caps"], dtype=float)
    real = groups.any(axis=1)
    groups, caps = groups[real], caps[: real.shape[0]][real]
    lot_w = np.asarray(values["lot_w"], dtype=float)[:n]
    li, lj = np.nonzero(lot_w > 0)  # sellable lots: (security, slot)
    lw = lot_w[li, lj]
    ltax = np.asarray(values["tax"], dtype=float)[:n][li, lj]
    lgain = np.asarray(values["gain"], dtype=float)[:n][li, lj]
    bi = np.flatnonzero(buy_ub > 0)  # buyable securities
    nb, nl = len(bi), len(li)
    ob, ol, od, of, oc = 0, nb, nb + nl, nb + nl + n, nb + nl + n + k
    nx = oc + 1
    ct = float(values["ct"])
    cash_band = float(values["cash_band"])
    c_lo = max(float(values["cash_min"]), ct - cash_band)
    c_hi = min(float(values["cash_max"]), ct + cash_band)

    pdiag = np.zeros(nx)
    pdiag[od:of] = 2 * ra * spec2
    pdiag[of:oc] = 2 * ra
    pdiag[oc] = 2 * cpen
    diag = np.arange(nx, dtype=np.int64)
    P = sps.csc_matrix((pdiag, diag, np.arange(nx + 1, dtype=np.int64)), shape=(nx, nx))
    q = np.zeros(nx)
    q[ob:ol] = cost[bi] + tp
    q[ol:od] = cost[li] + ltax + tp
    q[oc] = -2 * cpen * ct

    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    rhs: list[np.ndarray] = []
    r = 0

    def add(rr: np.ndarray, cc: np.ndarray, vv: np.ndarray | float) -> None:
        rows.append(np.asarray(rr, dtype=np.int64))
        cols.append(np.asarray(cc, dtype=np.int64))
        vals.append(np.broadcast_to(np.asarray(vv, dtype=float), np.shape(rr)))

    ar_n = np.arange(n)
    # Equalities: active weights, factor exposures, cash.
    add(r + ar_n, od + ar_n, 1.0)
    add(r + bi, ob + np.arange(nb), -1.0)
    add(r + li, ol + np.arange(nl), 1.0)
    rhs.append(w0 - wm)
    r += n
    fr, fc = np.nonzero(bt)
    add(r + np.arange(k), of + np.arange(k), 1.0)
    add(r + fr, od + fc, -bt[fr, fc])
    rhs.append(np.zeros(k))
    r += k
    add(np.array([r]), np.array([oc]), 1.0)
    add(np.full(nb, r), ob + np.arange(nb), 1.0 + cost[bi])
    add(np.full(nl, r), ol + np.arange(nl), cost[li] - 1.0)
    rhs.append(np.array([float(values["c0"])]))
    r += 1
    n_eq = r
    # Inequalities A x <= rhs.
    add(r + np.arange(nb), ob + np.arange(nb), -1.0)
    rhs.append(np.zeros(nb))
    r += nb
    capped = np.arange(nb) if all_buy_rows else np.flatnonzero(buy_ub[bi] < NO_LIMIT)
    r_buy = r
    add(r + np.arange(len(capped)), ob + capped, 1.0)
    rhs.append(np.minimum(buy_ub[bi][capped], 10 * NO_LIMIT))
    r += len(capped)
    add(r + np.arange(nl), ol + np.arange(nl), -1.0)
    rhs.append(np.zeros(nl))
    r += nl
    r_lot = r
    add(r + np.arange(nl), ol + np.arange(nl), 1.0)
    rhs.append(lw)
    r += nl
    hi = np.flatnonzero(d_hi < NO_LIMIT)
    add(r + np.arange(len(hi)), od + hi, 1.0)
    rhs.append(d_hi[hi])
    r += len(hi)
    lo = np.flatnonzero(d_lo < NO_LIMIT)
    add(r + np.arange(len(lo)), od + lo, -1.0)
    rhs.append(d_lo[lo])
    r += len(lo)
    gr, gc = np.nonzero(groups)
    add(r + gr, od + gc, groups[gr, gc])
    rhs.append(caps)
    r += len(caps)
    add(np.array([r]), np.array([oc]), -1.0)
    rhs.append(np.array([-c_lo]))
    r += 1
    if c_hi < NO_LIMIT:
        add(np.array([r]), np.array([oc]), 1.0)
        rhs.append(np.array([c_hi]))
        r += 1
    add(np.full(nb + nl, r), np.arange(ob, od), 1.0)
    rhs.append(np.array([float(values["turnover"])]))
    r += 1
    budget = float(values["gains_budget"])
    if nl and budget < NO_LIMIT:
        add(np.full(nl, r), ol + np.arange(nl), lgain)
        rhs.append(np.array([budget]))
        r += 1
    A = sps.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, nx))
    b = np.concatenate(rhs)
    cones = [clarabel.ZeroConeT(n_eq), clarabel.NonnegativeConeT(r - n_eq)]
    vmap = {"n": n, "bi": bi, "li": li, "ob": ob, "ol": ol, "od": od, "const": cpen * ct * ct}
    if all_buy_rows:
        vmap["r_buy"], vmap["r_lot"] = r_buy, r_lot  # rows of buy j and lot t: r_buy + j, r_lot + t
    return P, q, A, b, cones, vmap


def solve_qp(
    values: dict[str, np.ndarray | float],
    ra: float,
    tp: float,
    cpen: float,
    time_limit: float,
    **opts: object,
) -> QPResult:
    """Solve with a fresh Clarabel solver (a proposal never depends on earlier accounts)."""
    P, q, A, b, cones, vm = build_qp(values, ra, tp, cpen)
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.time_limit = float(time_limit)
    for key, val in {**SOLVER_TOLERANCES, **opts}.items():
        setattr(settings, key, val)
    try:
        sol = clarabel.DefaultSolver(P, q, A, b, cones, settings).solve()
    except Exception as exc:  # a solver panic is a rung failure, not a crash
        return QPResult(f"solver_error: {exc}", None, None, None)
    status = STATUS.get(str(sol.status), "solver_error")
    if status not in ("optimal", "optimal_inaccurate"):
        return QPResult(status, None, None, None, int(sol.iterations))
    x = np.asarray(sol.x)
    n, bi, li = vm["n"], vm["bi"], vm["li"]
    buy = np.zeros(n)
    buy[bi] = x[vm["ob"] : vm["ol"]]
    sell = np.bincount(li, weights=x[vm["ol"] : vm["od"]], minlength=n)
    obj = float(sol.obj_val) + vm["const"]
    return QPResult(status, buy, sell, obj, int(sol.iterations))
