"""The account QP with its tax year: year-to-date gains in the objective and the annual budget.

`qp.build_qp` with its lot tax term replaced by the year's (as `household_qp` does for a
household), all fractions of the account's value V:

    z = ytd + tax'l                       the year's tax after this run (tax signed: a loss saves)
    minimise  ... + t                     with t >= z, t >= 0: max(z, 0)        (when ytd != 0)
    s.t.      max(tax, 0)'l <= cap        the run's gains' tax within the budget left (when one
                                          applies): losses sold in the same run are not netted
                                          here, so rounding that drops a small loss sale cannot
                                          break the budget (a safe bound on the run's tax)

so a loss sale is worth its full tax while the household's year has gains to offset, and
nothing beyond them (as in the plain account problem, where a loss never pays for a round trip:
no value for a carry-forward here, unlike `household_qp`); a gain costs nothing while the
year's net losses or the carry-forward absorb it. With no year-to-date position (ytd = 0) the
objective is the plain one and only the budget row is added. Used only when
`TaxYear.active()`: otherwise the account's problem is exactly `qp.DirectQP`'s.
"""

from __future__ import annotations

import clarabel
import numpy as np
import scipy.sparse as sps

from engine.rebalance.household_qp import signed_lot_tax
from engine.rebalance.prepare import Prepared
from engine.rebalance.qp import SOLVER_TOLERANCES, STATUS, QPResult, build_qp
from engine.rebalance.settings import RebalanceSettings

CAP_SHARE = 0.98  # the budget is enforced a little inside, so rounding rarely crosses it


class YearQP:
    """Same interface as `qp.DirectQP`; the tax year of `p.account.year` is built in."""

    def __init__(self, p: Prepared, s: RebalanceSettings, ytd: float, cap: float | None) -> None:
        self.ra, self.tp, self.cp = s.risk_aversion, s.trade_penalty, s.cash_penalty
        self.signed = signed_lot_tax(p)
        self.ytd = ytd / p.value
        self.cap = None if cap is None else CAP_SHARE * cap / p.value
        self.last: QPResult | None = None
        self.year_tax: float | None = None  # t after the last solve (fraction of V)

    def solve(self, values: dict[str, np.ndarray | float], time_limit: float, **opts: object) -> str:
        vals = dict(values)
        lot_w = np.asarray(vals["lot_w"], dtype=float)
        year = abs(self.ytd) > 0.0  # the year's position enters the objective
        if year:
            vals["tax"] = np.zeros_like(lot_w)
        P, q, A, b, cones, vm = build_qp(vals, self.ra, self.tp, self.cp)
        n = vm["n"]
        li, lj = np.nonzero(lot_w[:n] > 0)
        ltax = self.signed[:n][li, lj]
        nx = P.shape[0]
        ol, od = vm["ol"], vm["od"]
        nl = len(li)
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        vals_: list[np.ndarray] = []
        rhs: list[float] = []
        if year:  # t >= 0;  t >= ytd + tax'l;  objective + t
            q = np.r_[q, 1.0]
            P = sps.block_diag([P, sps.csc_matrix((1, 1))], format="csc")
            rows += [np.array([0]), np.array([1]), np.full(nl, 1)]
            cols += [np.array([nx]), np.array([nx]), ol + np.arange(nl)]
            vals_ += [np.array([-1.0]), np.array([-1.0]), ltax]
            rhs += [0.0, -self.ytd]
        if self.cap is not None and nl:  # the run's tax within the budget left
            rows.append(np.full(nl, len(rhs)))
            cols.append(ol + np.arange(nl))
            vals_.append(np.maximum(ltax, 0.0))  # gains' tax only: a loss the rounding drops cannot break it
            rhs.append(self.cap)
        width = P.shape[0]
        if rhs:
            extra = sps.csc_matrix(
                (np.concatenate(vals_), (np.concatenate(rows), np.concatenate(cols))), shape=(len(rhs), width)
            )
            A = sps.vstack([sps.hstack([A, sps.csc_matrix((A.shape[0], width - nx))]), extra], format="csc")
            b = np.r_[b, rhs]
            cones = [*cones, clarabel.NonnegativeConeT(len(rhs))]
        settings = clarabel.DefaultSettings()
        settings.verbose = False
        settings.time_limit = float(time_limit)
        for key, val in {**SOLVER_TOLERANCES, **opts}.items():
            setattr(settings, key, val)
        try:
            sol = clarabel.DefaultSolver(P, q, A, b, cones, settings).solve()
        except Exception as exc:  # a solver panic is a rung failure, not a crash
            self.last = QPResult(f"solver_error: {exc}", None, None, None)
            return self.last.status
        status = STATUS.get(str(sol.status), "solver_error")
        if status not in ("optimal", "optimal_inaccurate"):
            self.last = QPResult(status, None, None, None, int(sol.iterations))
            return status
        x = np.asarray(sol.x)
        buy = np.zeros(n)
        buy[vm["bi"]] = x[vm["ob"] : ol]
        sell = np.bincount(li, weights=x[ol:od], minlength=n)
        self.year_tax = float(x[nx]) if year else None
        obj = float(sol.obj_val) + vm["const"]
        self.last = QPResult(status, np.maximum(buy, 0.0), np.maximum(sell, 0.0), obj, int(sol.iterations))
        return status

    def solution(self) -> tuple[np.ndarray, np.ndarray] | None:
        if self.last is None or self.last.buy is None or self.last.sell is None:
            return None
        return self.last.buy, self.last.sell

    @property
    def objective(self) -> float | None:
        return None if self.last is None else self.last.objective


def year_qp(p: Prepared, s: RebalanceSettings) -> YearQP | None:
    """The year's QP for a taxable account whose tax year is active, else None (the plain QP)."""
    y = p.account.year
    if y is None or not y.active():
        return None
    return YearQP(p, s, y.ytd_tax, y.cap())
