"""One QP for all accounts of a household: the accounts' own QPs side by side, tied by the aggregate.

Each account keeps its own variables and rows as `qp.build_qp` writes them (buys, lot sells,
active weights, cash; its cash floor/raise, exclusions, caps, turnover and per-account gains
budget) except its factor exposures, with the objective scaled by its share s_a of the
household's value in the reporting currency (book FX). On top (all fractions of the household's
value V_H):

    D = sum_a s_a E_a (w0_a + b_a - S l_a) - target        aggregate active weights (union of securities)
    F = B' D                                                aggregate factor exposures
    minimise  ra (|F|^2 + spec2'D^2)                        household tracking error^2
              + ra * ACCOUNT_TE * sum_a s_a d_a' diag(v) d_a  a light pull of each account to its
                                                            model: v is each security's own
                                                            variance (specific plus |B_i|^2), the
                                                            diagonal of its tracking-error matrix
              + sum_a s_a (cost + tp)'(b_a + l_a)           costs, as in the account problem
              + LOCATION * sum_{a taxable} s_a w_a[inefficient]   asset location (soft)
              + t                                           estimated tax of the household's year
    s.t.      t >= 0,  t >= ytd_tax + sum_a s_a tax_a'l_a   losses net against this run's and the
                                                            year's gains first, and are worth
                                                            nothing beyond them
              ytd_tax + sum_a s_a tax_a'l_a <= cap          annual tax budget (hard), when set:
                                                            cap = max(ytd_tax, 0) + budget
              max(tax_a, 0)'l_a <= 0.98 cap_a / V_a         an account's own annual budget left
                                                            (`rebalance tax-budget set`), as in
                                                            `qp_year`: its gains' tax, losses not
                                                            netted (rounding cannot break it)

A net gain costs its full estimated tax; a net loss beyond this run's and the year's gains is
worth nothing in this objective (a carry-forward value would make households harvest losses they
cannot use this year; it needs a loss threshold chosen with it). An earlier design weighed the
tax by 0.75 and meant to value a carried loss at 0.25 of its tax, but only the 0.75 ever ran.

The lot tax here is signed (a loss saves tax only while the household's year has gains to
offset); each account's own tax term is left out of its block.

Speed: the pull to each account's model is diagonal, so an account's block has no factor rows
(the dense k x n rows B'd_a were half the matrix and doubled Clarabel's time); the household's
own factor rows (k x union) are the only dense part. The blocks are assembled as COO triplets
(no scipy block_diag/vstack), and Clarabel runs without iterative refinement (same objective
within 1e-9 on the demo book, a quarter less time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import clarabel
import numpy as np
import scipy.sparse as sps

from engine.rebalance.book import Universe
from engine.rebalance.prepare import Prepared
from engine.rebalance.qp import SOLVER_TOLERANCES, STATUS, build_qp

# Weight of each account's own tracking error relative to the household's (a tie-break that keeps
# accounts near their models where location and tax do not say otherwise).
ACCOUNT_TE = 0.05
# Asset location: a taxable account holding a tax-inefficient security (taxable bonds, bond funds,
# REITs) costs this fraction of the holding's value: about half the yearly extra tax of a 4% coupon
# taxed at 37% instead of equity's 2% dividend at 20% (a one-year view, weighed against the
# one-off tax and cost of moving). Tax-deferred accounts carry no penalty, so while the household's
# tracking error holds the aggregate near its target, inefficient holdings move to them.
LOCATION = 0.005
INEFFICIENT_SECTORS = frozenset({"Fixed Income", "Real Estate"})
ACCOUNT_CAP_SHARE = 0.98  # an account's own budget is kept a little inside (as `qp_year`)
# The year's tax z enters as max(z, 0) (t >= z, t >= 0): see the module docstring.


def tax_inefficient(u: Universe, idx: np.ndarray) -> np.ndarray:
    """Bool over `idx`: taxable bonds and bond funds, REITs (real estate), whose income is taxed
    yearly at ordinary rates; the book's asset class and sector say which."""
    return (u.asset_class[idx] == "fixed_income") | np.isin(u.sector[idx], list(INEFFICIENT_SECTORS))


def signed_lot_tax(p: Prepared) -> np.ndarray:
    """Estimated tax per lot slot as a fraction of the account (negative for a loss), n x L."""
    out = np.zeros_like(np.asarray(p.values["lot_w"], dtype=float))
    pbl = p.pb[p.lot_pos]
    out[p.lot_pos, p.lot_slot] = p.lot_tax_unit / np.where(pbl > 0, pbl, 1.0)
    return out


@dataclass
class Member:
    """One account in the household problem."""

    p: Prepared
    share: float  # V_a / V_H in the reporting currency
    taxable: bool
    values: dict[str, np.ndarray | float]  # the account's arrays (directions and bands applied)
    tax_cap: float | None = None  # the account's annual budget left: cap on its gains' tax (base ccy)


@dataclass
class HouseholdQPResult:
    status: str
    sol: list[tuple[np.ndarray, np.ndarray]] | None  # per member (buy, sell) weights of its account
    objective: float | None
    tax_frac: float | None = None  # t: the household's estimated tax of the year (fraction of V_H)
    lots: list[np.ndarray] | None = None  # per member: lot slots the solve sold from (bool, n x L)


def solve_household_qp(
    members: list[Member],
    u: Universe,
    union: np.ndarray,
    target: np.ndarray,
    ra: float,
    tp: float,
    cpen: float,
    ytd_tax: float,
    budget: float | None,
    time_limit: float,
) -> HouseholdQPResult:
    """Build and solve; `ytd_tax` and `budget` (the cap on the year's tax after the run, see the
    module docstring) are fractions of the household's value."""
    P, q, A, b, cones, maps, offs, oT, const = build_household_qp(
        members, u, union, target, ra, tp, cpen, ytd_tax, budget
    )
    settings = _settings(time_limit)
    try:
        sol = clarabel.DefaultSolver(P, q, A, b, cones, settings).solve()
    except Exception as exc:  # a solver panic is a rung failure, not a crash
        return HouseholdQPResult(f"solver_error: {exc}", None, None)
    return _result(members, sol, maps, offs, oT, const)


def _settings(time_limit: float) -> Any:
    """Clarabel settings of a household solve."""
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.time_limit = float(time_limit)
    for key, val in SOLVER_TOLERANCES.items():
        setattr(settings, key, val)
    settings.iterative_refinement_enable = False
    return settings


class HouseholdProblem:
    """One household QP kept across the direction passes. Every buy and lot keeps its variable
    and upper-bound row, so a pass that forbids trades changes only b (the bound to 0) and
    Clarabel re-solves with `update(b=...)`, keeping its setup (a third of a solve: the KKT
    system's analysis); the first solve builds it. Same problem as removing the variables, which
    `solve_household_qp` does (tested: the same objective within 1e-6; trades may differ where it is flat)."""

    def __init__(
        self,
        members: list[Member],
        u: Universe,
        union: np.ndarray,
        target: np.ndarray,
        ra: float,
        tp: float,
        cpen: float,
        ytd_tax: float,
        budget: float | None,
        time_limit: float,
    ) -> None:
        self.members, self.u = members, u
        data = build_household_qp(members, u, union, target, ra, tp, cpen, ytd_tax, budget, all_buy_rows=True)
        self.P, self.q, self.A, self.b, self.cones, self.maps, self.offs, self.oT, self.const = data
        self.time_limit = time_limit
        self.solver: Any = None

    def solve(self, no_buy: set[int], no_sell: set[int]) -> HouseholdQPResult:
        """Solve with the buys of `no_buy` groups and the sales of `no_sell` groups (not of an
        excluded holding: the account must sell it) bounded at zero in every account."""
        b = self.b
        if no_buy or no_sell:
            b = b.copy()
            for m, vm in zip(self.members, self.maps):
                g = self.u.wash_group[m.p.idx]
                stop_buy = np.isin(g, list(no_buy))
                stop_sell = np.isin(g, list(no_sell)) & ~m.p.excluded
                b[vm["g_buy"] + np.flatnonzero(stop_buy[vm["bi"]])] = 0.0
                b[vm["g_lot"] + np.flatnonzero(stop_sell[vm["li"]])] = 0.0
        try:
            if self.solver is None:
                self.solver = clarabel.DefaultSolver(
                    self.P, self.q, self.A, b, self.cones, _settings(self.time_limit)
                )
            else:
                self.solver.update(b=b)
            sol = self.solver.solve()
        except Exception as exc:  # a solver panic is a rung failure, not a crash
            return HouseholdQPResult(f"solver_error: {exc}", None, None)
        return _result(self.members, sol, self.maps, self.offs, self.oT, self.const)


def build_household_qp(
    members: list[Member],
    u: Universe,
    union: np.ndarray,
    target: np.ndarray,
    ra: float,
    tp: float,
    cpen: float,
    ytd_tax: float,
    budget: float | None,
    all_buy_rows: bool = False,
) -> tuple[Any, ...]:
    """Clarabel data (P upper triangle, q, A, b, cones) and the variable maps of the household
    (`all_buy_rows`: see `HouseholdProblem`)."""
    qs, bs = [], []
    p_diag: list[np.ndarray] = []
    a_rows: list[np.ndarray] = []
    a_cols: list[np.ndarray] = []
    a_vals: list[np.ndarray] = []
    eq_rows, in_rows = [], []  # per account: (first row, count) of its equalities and inequalities
    maps: list[dict[str, Any]] = []
    const = 0.0
    off = 0
    for m in members:
        vals = dict(m.values)
        vals["tax"] = np.zeros_like(np.asarray(vals["lot_w"], dtype=float))
        bt = np.asarray(vals["bt"], dtype=float)
        vals["spec2"] = np.asarray(vals["spec2"], dtype=float) + (bt * bt).sum(axis=0)
        vals["bt"] = bt[:0]  # no factor rows in the account's block: its pull is diagonal
        P, q, A, b, cn, vm = build_qp(vals, ra * ACCOUNT_TE, tp, cpen, all_buy_rows)
        n = vm["n"]
        if m.taxable:
            q[vm["od"] + np.flatnonzero(tax_inefficient(u, m.p.idx))] += LOCATION
        lot_w = np.asarray(vals["lot_w"], dtype=float)[:n]
        li, lj = np.nonzero(lot_w > 0)
        vm["lj"] = lj  # the lot slots of the variables (the values may change after the build)
        vm["ltax"] = signed_lot_tax(m.p)[:n][li, lj] if m.taxable else np.zeros(len(li))
        p_diag.append(P.diagonal() * m.share)
        qs.append(q * m.share)
        const += vm["const"] * m.share
        Ac = A.tocoo()
        a_rows.append(Ac.row)
        a_cols.append(Ac.col + off)
        a_vals.append(Ac.data)
        bs.append(b)
        n_eq = int(cn[0].dim) if len(cn) else 0
        eq_rows.append(n_eq)
        in_rows.append(A.shape[0] - n_eq)
        vm["nx"] = P.shape[0]
        maps.append(vm)
        off += P.shape[0]
    offs = np.cumsum([0] + [vm["nx"] for vm in maps])
    nU = len(union)
    bt_u = u.exposures[union].T if u.exposures is not None else np.zeros((1, nU))
    k = bt_u.shape[0]
    spec2 = u.specific[union] ** 2 if u.specific is not None else np.full(nU, 0.04)
    oD = int(offs[-1])
    oF, oT = oD + nU, oD + nU + k
    nx = oT + 1
    # Rows in Clarabel's order: every account's equalities, the household's equalities (one zero
    # cone), then every account's inequalities and the household's (one nonnegative cone).
    n_eq_acc = int(sum(eq_rows))
    n_eq = n_eq_acc + nU + k
    rows, cols, vals_ = [], [], []
    rhs_eq, rhs_in = [], []
    r_eq, r_in = 0, n_eq
    for ar, ac, av, b, ne, ni, vm in zip(a_rows, a_cols, a_vals, bs, eq_rows, in_rows, maps):
        if all_buy_rows:  # where this account's buy and lot upper-bound rows land
            vm["g_buy"], vm["g_lot"] = vm["r_buy"] - ne + r_in, vm["r_lot"] - ne + r_in
        is_eq = ar < ne
        rows.append(np.where(is_eq, ar + r_eq, ar - ne + r_in))
        cols.append(ac)
        vals_.append(av)
        rhs_eq.append(b[:ne])
        rhs_in.append(b[ne:])
        r_eq += ne
        r_in += ni
    # Household rows: D - sum s_a E_a d_a = sum s_a E_a wm_a - target;  F - B'D = 0.
    h0 = n_eq_acc
    rows.append(h0 + np.arange(nU))
    cols.append(oD + np.arange(nU))
    vals_.append(np.ones(nU))
    agg = -np.asarray(target, dtype=float).copy()
    for m, vm, o in zip(members, maps, offs):
        pos = np.searchsorted(union, m.p.idx)
        rows.append(h0 + pos)
        cols.append(o + vm["od"] + np.arange(vm["n"]))
        vals_.append(np.full(vm["n"], -m.share))
        np.add.at(agg, pos, m.share * np.asarray(m.values["wm"], dtype=float)[: vm["n"]])
    fr, fc = np.nonzero(bt_u)
    rows += [h0 + nU + np.arange(k), h0 + nU + fr]
    cols += [oF + np.arange(k), oD + fc]
    vals_ += [np.ones(k), -bt_u[fr, fc]]
    # Inequalities: -t <= 0;  -t + sum s_a tax_a'l_a <= -ytd_tax;  t <= max(ytd_tax, 0) + budget.
    r = r_in
    rows += [np.array([r]), np.array([r + 1])]
    cols += [np.array([oT]), np.array([oT])]
    vals_ += [np.array([-1.0]), np.array([-1.0])]
    hh_in = [0.0, -ytd_tax]
    tax_rows = [r + 1] if budget is None else [r + 1, r + 2]
    for m, vm, o in zip(members, maps, offs):
        nl = len(vm["li"])
        if nl and m.taxable:
            for row in tax_rows:
                rows.append(np.full(nl, row))
                cols.append(o + vm["ol"] + np.arange(nl))
                vals_.append(m.share * vm["ltax"])
    if budget is not None:  # the year's tax after this run: ytd_tax + sum s_a tax_a'l_a <= budget
        hh_in.append(budget - ytd_tax)
    for m, vm, o in zip(members, maps, offs):  # each account's own budget left (its gains' tax)
        if m.tax_cap is None:
            continue
        nl = len(vm["li"])
        lot_w = np.asarray(m.values["lot_w"], dtype=float)[: vm["n"]]
        li, lj = np.nonzero(lot_w > 0)
        gain_tax = np.maximum(signed_lot_tax(m.p)[: vm["n"]][li, lj], 0.0)
        row = r + len(hh_in)
        rows.append(np.full(nl, row))
        cols.append(o + vm["ol"] + np.arange(nl))
        vals_.append(gain_tax)
        hh_in.append(ACCOUNT_CAP_SHARE * max(m.tax_cap, 0.0) / m.p.value)
    m_all = r + len(hh_in)
    A = sps.csc_matrix(
        (np.concatenate(vals_), (np.concatenate(rows), np.concatenate(cols))), shape=(m_all, nx)
    )
    b = np.concatenate([*rhs_eq, agg, np.zeros(k), *rhs_in, np.array(hh_in)])
    cones = [clarabel.ZeroConeT(n_eq), clarabel.NonnegativeConeT(m_all - n_eq)]
    pdiag = np.concatenate([*p_diag, 2 * ra * spec2, np.full(k, 2 * ra), [0.0]])
    ar = np.arange(nx, dtype=np.int64)
    P = sps.csc_matrix((pdiag, ar, np.arange(nx + 1, dtype=np.int64)), shape=(nx, nx))
    q = np.concatenate([*qs, np.zeros(nU + k), [1.0]])
    return P, q, A, b, cones, maps, offs, oT, const


def _result(
    members: list[Member], sol: Any, maps: list[dict[str, Any]], offs: np.ndarray, oT: int, const: float
) -> HouseholdQPResult:
    status = STATUS.get(str(sol.status), "solver_error")
    if status not in ("optimal", "optimal_inaccurate"):
        return HouseholdQPResult(status, None, None)
    x = np.asarray(sol.x)
    out = []
    lots = []
    for m, vm, off in zip(members, maps, offs):
        xa = x[off : off + vm["nx"]]
        buy = np.zeros(vm["n"])
        buy[vm["bi"]] = xa[vm["ob"] : vm["ol"]]
        sold = xa[vm["ol"] : vm["od"]]
        sell = np.bincount(vm["li"], weights=sold, minlength=vm["n"])
        out.append((np.maximum(buy, 0.0), np.maximum(sell, 0.0)))
        chosen = np.zeros(np.asarray(m.values["lot_w"]).shape, dtype=bool)
        li, lj = vm["li"], vm["lj"]
        keep = sold > 1e-7
        chosen[li[keep], lj[keep]] = True
        lots.append(chosen)
    return HouseholdQPResult(status, out, float(sol.obj_val) + const, float(x[oT]), lots)
