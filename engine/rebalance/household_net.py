"""Resolve a household's buy-and-sell conflicts by netting, instead of solving the household again.

The first household solve often buys a security in one account and sells it in another: each
account's light pull to its own model (`household_qp.ACCOUNT_TE`) wants both trades, while the
household's aggregate needs neither. The direction rule (`household_solve._directed`) keeps the
larger side of each such wash group (or the side an exclusion forces) and forbids the other; the
re-solve that enforced it was 40% of the household solves on the demo book.

Netting gets the same directions from the first solution, without a solve: for every conflicted
group, remove every trade of the forbidden side and take the same amount per security off the
kept side (in proportion across the accounts that trade it, sells lot by lot in proportion; a sale
an exclusion forces is never reduced). The aggregate D is unchanged (the same security leaves one
account's trade as it leaves the other's), so the household's tracking error, factor exposures and
asset-class mix are exactly the first solve's; each account's active weights and cash move by its
own netted trades, and the year's tax t by the sales no longer made. The netted point is accepted
only when it satisfies every row of the household problem (equalities and inequalities: cash
floors and caps, restrictions, caps, turnover, tax budgets) within the first solution's own
residual, and when each removed amount is covered by the kept side of the same security (a wash
group of an ADR and its ordinary traded on different sides is not netted); otherwise the household
is solved again as before. The netted point is feasible for the re-solve's problem (the forbidden
side is zero there), so its objective is at least the re-solve's: what the household gives up is
that gap (measured on the demo book, see docs/rebalance.md, Household benchmark).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.rebalance.book import Universe
from engine.rebalance.household_qp import HouseholdQPResult, Member, extract

FEAS_TOL = 1e-7  # the smallest residual a row may keep (Clarabel's feasibility tolerance)


def net_conflicts(
    members: list[Member], u: Universe, res: HouseholdQPResult, keep_sells: dict[int, bool], ytd_tax: float
) -> HouseholdQPResult | None:
    """The first solution with every conflicted wash group netted to its kept side, or None when
    netting cannot keep the aggregate or breaks a row of the problem (then the caller re-solves)."""
    if res.x is None or res.data is None:
        return None
    P, q, A, b, n_eq, maps, offs, oT, oD, const, union = res.data
    x = np.array(res.x, dtype=float, copy=True)
    # Per (union) security of a conflicted group: the removed side's household amount, and the
    # kept side's reducible amount with where it sits (variable index, share, account).
    removed: dict[int, float] = {}
    kept: dict[int, list[tuple[int, float]]] = {}
    for m, vm, o in zip(members, maps, offs):
        g = u.wash_group[m.p.idx]
        bi, li = vm["bi"], vm["li"]
        for j, k in enumerate(bi.tolist()):
            grp = int(g[k])
            if grp not in keep_sells:
                continue
            var = int(o + vm["ob"] + j)
            sec = int(m.p.idx[k])
            if keep_sells[grp]:
                removed[sec] = removed.get(sec, 0.0) + m.share * max(x[var], 0.0)
                x[var] = 0.0
            else:
                kept.setdefault(sec, []).append((var, m.share))
        for t, k in enumerate(li.tolist()):
            grp = int(g[k])
            if grp not in keep_sells:
                continue
            var = int(o + vm["ol"] + t)
            sec = int(m.p.idx[k])
            if not keep_sells[grp]:
                if m.p.excluded[k]:
                    return None  # a sale the account must make is never removed
                removed[sec] = removed.get(sec, 0.0) + m.share * max(x[var], 0.0)
                x[var] = 0.0
            elif not m.p.excluded[k]:
                kept.setdefault(sec, []).append((var, m.share))
    for sec, amount in removed.items():
        if amount <= 0.0:
            continue
        where = kept.get(sec, [])
        total = sum(s * max(x[v], 0.0) for v, s in where)
        if total <= amount:
            return None  # the kept side
        scale = 1.0 - amount / total
        for v, _ in where:
            x[v] = max(x[v], 0.0) * scale
    _dependent(members, maps, offs, oD, oT, x, union, ytd_tax)
    if not _feasible(A, b, n_eq, res.x, x):
        return None
    obj = float(0.5 * x @ (P @ x) + q @ x) + const
    sol, lots = extract(members, x, maps, offs)
    return HouseholdQPResult(res.status, sol, obj, float(x[oT]), lots, x, res.data)


def _dependent(
    members: list[Member],
    maps: list[dict[str, Any]],
    offs: np.ndarray,
    oD: int,
    oT: int,
    x: np.ndarray,
    union: np.ndarray,
    ytd_tax: float,
) -> None:
    """Recompute the variables the trades determine: each account's active weights d and cash c,
    the aggregate D (factor exposures F follow from D and are unchanged when D is), and the tax t."""
    taxed = ytd_tax
    dD = np.zeros(len(union))
    for m, vm, o in zip(members, maps, offs):
        n = vm["n"]
        bi, li = vm["bi"], vm["li"]
        buy = np.zeros(n)
        buy[bi] = x[o + vm["ob"] : o + vm["ol"]]
        lots = x[o + vm["ol"] : o + vm["od"]]
        sell = np.bincount(li, weights=lots, minlength=n)
        w0 = np.asarray(m.values["w0"], dtype=float)[:n]
        wm = np.asarray(m.values["wm"], dtype=float)[:n]
        cost = np.asarray(m.values["cost"], dtype=float)[:n]
        d_new = w0 - wm + buy - sell
        d_old = x[o + vm["od"] : o + vm["od"] + n]
        np.add.at(dD, np.searchsorted(union, m.p.idx), m.share * (d_new - d_old))
        x[o + vm["od"] : o + vm["od"] + n] = d_new
        oc = o + vm["nx"] - 1  # an account block ends with its cash (no factor rows, see household_qp)
        x[oc] = (
            float(m.values["c0"])
            - float((1.0 + cost[bi]) @ x[o + vm["ob"] : o + vm["ol"]])
            + float((1.0 - cost[li]) @ lots)
        )
        if m.taxable:
            taxed += m.share * float(vm["ltax"] @ lots)
    x[oD : oD + len(union)] += dD  # F = B'D is not recomputed: the row check rejects a moved D
    x[oT] = max(taxed, 0.0)


def _feasible(A: Any, b: np.ndarray, n_eq: int, x0: np.ndarray, x: np.ndarray) -> bool:
    """Every row of the problem holds at x within the first solution's own residual on that row."""
    r0 = A @ x0 - b
    r = A @ x - b
    tol_eq = np.maximum(np.abs(r0[:n_eq]), FEAS_TOL) * 1.0001 + 1e-12
    tol_in = np.maximum(r0[n_eq:], FEAS_TOL) * 1.0001 + 1e-12
    return bool((np.abs(r[:n_eq]) <= tol_eq).all() and (r[n_eq:] <= tol_in).all())
