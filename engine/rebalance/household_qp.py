"""One QP for all accounts of a household: the accounts' own QPs side by side, tied by the aggregate.

Each account keeps its own variables and rows exactly as `qp.build_qp` writes them (buys, lot
sells, active weights, factor exposures, cash; its cash floor/raise, exclusions, caps, turnover
and per-account gains budget), with the objective scaled by its share s_a of the household's
value in the reporting currency (book FX). On top (all fractions of the household's value V_H):

    D = sum_a s_a E_a (w0_a + b_a - S l_a) - target        aggregate active weights (union of securities)
    F = B' D                                                aggregate factor exposures
    minimise  ra (|F|^2 + spec2'D^2)                        household tracking error^2
              + ra * ACCOUNT_TE * sum_a s_a TE_a^2          a light pull of each account to its model
              + sum_a s_a (cost + tp)'(b_a + l_a)           costs, as in the account problem
              + LOCATION * sum_{a taxable} s_a w_a[inefficient]   asset location (soft)
              + (1 - CV) t + CV (ytd_tax + sum_a s_a tax_a'l_a)   estimated tax of the household's
                                                            year; a net loss carried forward is
                                                            worth CV (CARRY_VALUE) of its tax
    s.t.      t >= 0,  t >= ytd_tax + sum_a s_a tax_a'l_a   losses net against this run's and the
                                                            year's gains first, and are worth
                                                            nothing beyond them
              ytd_tax + sum_a s_a tax_a'l_a <= cap          annual tax budget (hard), when set:
                                                            cap = max(ytd_tax, 0) + budget

The lot tax here is signed (a loss saves tax only while the household's year has gains to
offset); each account's own tax term is left out of its block.
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
# A net loss of the year is carried forward: worth this share of its tax now (it offsets later
# gains, discounted). The tax term is max(z, 0) + CARRY_VALUE * min(z, 0) for the year's tax z,
# written (1 - CARRY_VALUE) t + CARRY_VALUE z with t >= z, t >= 0 (convex). It also keeps the
# plan a little on the loss side of the kink, so small loss sales that rounding drops do not
# leave the household paying tax.
CARRY_VALUE = 0.25


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
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.time_limit = float(time_limit)
    for key, val in SOLVER_TOLERANCES.items():
        setattr(settings, key, val)
    try:
        sol = clarabel.DefaultSolver(P, q, A, b, cones, settings).solve()
    except Exception as exc:  # a solver panic is a rung failure, not a crash
        return HouseholdQPResult(f"solver_error: {exc}", None, None)
    return _result(members, sol, maps, offs, oT, const)


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
) -> tuple[Any, ...]:
    """Clarabel data (P upper triangle, q, A, b, cones) and the variable maps of the household."""
    blocks_p, blocks_a, qs, bs, cones = [], [], [], [], []
    maps: list[dict[str, Any]] = []
    const = 0.0
    for m in members:
        vals = dict(m.values)
        vals["tax"] = np.zeros_like(np.asarray(vals["lot_w"], dtype=float))
        P, q, A, b, cn, vm = build_qp(vals, ra * ACCOUNT_TE, tp, cpen)
        n = vm["n"]
        if m.taxable:
            q[vm["od"] + np.flatnonzero(tax_inefficient(u, m.p.idx))] += LOCATION
        blocks_p.append(P * m.share)
        qs.append(q * m.share)
        const += vm["const"] * m.share
        blocks_a.append(A)
        bs.append(b)
        cones.extend(cn)
        lot_w = np.asarray(vals["lot_w"], dtype=float)[:n]
        li, lj = np.nonzero(lot_w > 0)
        vm["ltax"] = signed_lot_tax(m.p)[:n][li, lj] if m.taxable else np.zeros(len(li))
        q[vm["ol"] : vm["od"]] += CARRY_VALUE * vm["ltax"]
        vm["nx"] = P.shape[0]
        maps.append(vm)
    offs = np.cumsum([0] + [vm["nx"] for vm in maps])
    nU = len(union)
    bt = u.exposures[union].T if u.exposures is not None else np.zeros((1, nU))
    k = bt.shape[0]
    spec2 = u.specific[union] ** 2 if u.specific is not None else np.full(nU, 0.04)
    oD = int(offs[-1])
    oF, oT = oD + nU, oD + nU + k
    nx = oT + 1
    # Household rows: D - sum s_a E_a d_a = sum s_a E_a wm_a - target;  F - B'D = 0.
    rows, cols, vals_ = [np.arange(nU)], [oD + np.arange(nU)], [np.ones(nU)]
    rhs_eq = -np.asarray(target, dtype=float).copy()
    for m, vm, off in zip(members, maps, offs):
        pos = np.searchsorted(union, m.p.idx)
        rows.append(pos)
        cols.append(off + vm["od"] + np.arange(vm["n"]))
        vals_.append(np.full(vm["n"], -m.share))
        np.add.at(rhs_eq, pos, m.share * np.asarray(m.values["wm"], dtype=float)[: vm["n"]])
    fr, fc = np.nonzero(bt)
    rows += [nU + np.arange(k), nU + fr]
    cols += [oF + np.arange(k), oD + fc]
    vals_ += [np.ones(k), -bt[fr, fc]]
    n_eq = nU + k
    # Inequalities: -t <= 0;  -t + sum s_a tax_a'l_a <= -ytd_tax;  t <= max(ytd_tax, 0) + budget.
    r = n_eq
    rows.append(np.array([r]))
    cols.append(np.array([oT]))
    vals_.append(np.array([-1.0]))
    rows.append(np.array([r + 1]))
    cols.append(np.array([oT]))
    vals_.append(np.array([-1.0]))
    for m, vm, off in zip(members, maps, offs):
        nl = len(vm["li"])
        if nl and m.taxable:
            rows.append(np.full(nl, r + 1))
            cols.append(off + vm["ol"] + np.arange(nl))
            vals_.append(m.share * vm["ltax"])
    rhs_in = [0.0, -ytd_tax]
    if budget is not None:  # the year's tax after this run: ytd_tax + sum s_a tax_a'l_a <= budget
        for m, vm, off in zip(members, maps, offs):
            nl = len(vm["li"])
            if nl and m.taxable:
                rows.append(np.full(nl, r + 2))
                cols.append(off + vm["ol"] + np.arange(nl))
                vals_.append(m.share * vm["ltax"])
        rhs_in.append(budget - ytd_tax)
    m_hh = n_eq + len(rhs_in)
    Ahh = sps.csc_matrix(
        (np.concatenate(vals_), (np.concatenate(rows), np.concatenate(cols))), shape=(m_hh, nx)
    )
    Aacc = sps.block_diag(blocks_a, format="csc")
    Aacc = sps.hstack([Aacc, sps.csc_matrix((Aacc.shape[0], nx - oD))], format="csc")
    A = sps.vstack([Aacc, Ahh], format="csc")
    b = np.concatenate([*bs, rhs_eq, np.zeros(k), np.array(rhs_in)])
    cones += [clarabel.ZeroConeT(n_eq), clarabel.NonnegativeConeT(len(rhs_in))]
    hdiag = np.concatenate([2 * ra * spec2, np.full(k, 2 * ra), [0.0]])
    P = sps.triu(sps.block_diag([*blocks_p, sps.diags(hdiag)], format="csc"), format="csc")
    q = np.concatenate([*qs, np.zeros(nU + k), [1.0 - CARRY_VALUE]])
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
        lot_w = np.asarray(m.values["lot_w"], dtype=float)[: vm["n"]]
        li, lj = np.nonzero(lot_w > 0)
        keep = sold > 1e-7
        chosen[li[keep], lj[keep]] = True
        lots.append(chosen)
    return HouseholdQPResult(status, out, float(sol.obj_val) + const, float(x[oT]), lots)
