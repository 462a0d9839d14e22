"""Household parts of benchmarks/bulk_rebalance.py: groups for the book, a bare Clarabel baseline,
and the tax alpha of household solves against account-by-account solves (same accounts, same day)."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import replace
from typing import Any

import clarabel
import numpy as np
from sqlalchemy import func, select

from engine.rebalance.book import AccountInput, Universe
from engine.rebalance.bulk import run_bulk
from engine.rebalance.context import Context
from engine.rebalance.household_figures import household_figures
from engine.rebalance.household_solve import first_problem
from engine.rebalance.households import set_group
from engine.rebalance.prepare import prepare
from engine.rebalance.qp import SOLVER_TOLERANCES, build_qp
from engine.rebalance.run_inputs import load_run
from engine.rebalance.settings import RebalanceSettings
from engine.rebalance.tables import HouseholdGroup
from engine.store.accounts import Account, Household
from engine.store.database import Database


def ensure_groups(db: Database, ids: list[int], user: str) -> int:
    """A `blend` group for every household of these accounts with more than one account."""
    with db.session() as s:
        rows = s.execute(
            select(Household.code, Household.id, func.count(Account.id))
            .join(Account, Account.household_id == Household.id)
            .where(Account.id.in_(ids))
            .group_by(Household.code, Household.id)
        ).all()
        have = set(s.scalars(select(HouseholdGroup.household_id)))
    todo = [code for code, hid, n in rows if n > 1 and hid not in have]
    for i in range(0, len(todo), 500):
        with db.transaction() as s:
            for code in todo[i : i + 500]:
                set_group(s, user, code, "blend")
    return len(todo)


def _settings() -> clarabel.DefaultSettings:
    st = clarabel.DefaultSettings()
    st.verbose = False
    for key, val in SOLVER_TOLERANCES.items():
        setattr(st, key, val)
    return st


def bare_cpu_per_account(
    u: Universe,
    s: RebalanceSettings,
    accounts: list[AccountInput],
    records: list[dict[str, Any]],
    sample: int,
) -> float:
    """CPU seconds per solved account of Clarabel alone (setup + solve, no Python around it) on
    the first QP of up to `sample` solved accounts: household groups as one problem, others alone."""
    solved = {r["account_id"] for r in records if r.get("rung") not in ("in-band", None)}
    ctx = Context(u, s)
    by_hh: dict[int, list[AccountInput]] = defaultdict(list)
    for a in accounts:
        if a.id in solved:
            by_hh[a.household_id].append(a)
    cpu = 0.0
    n = 0
    for members in by_hh.values():
        if n >= sample:
            break
        if s.households and members[0].group is not None:
            P, q, A, b, cones = first_problem(ctx, members)
            items = [(P, q, A, b, cones)]
        else:
            items = []
            for a in members:
                p = prepare(u, a, s, ctx.pb(a.base))
                P1, q1, A1, b1, c1, _ = build_qp(p.values, s.risk_aversion, s.trade_penalty, s.cash_penalty)
                items.append((P1, q1, A1, b1, c1))
        for P, q, A, b, cones in items:
            t0 = time.process_time()
            clarabel.DefaultSolver(P, q, A, b, cones, _settings()).solve()
            cpu += time.process_time() - t0
        n += len(members)
    return cpu / max(n, 1)


def tax_alpha(db: Database, settings: RebalanceSettings, ids: list[int]) -> None:
    """Print household vs account-by-account: estimated tax (netted with each household's year,
    USD) and aggregate tracking error of the grouped households, and the run times."""
    grouped = replace(settings, households=True)
    alone = replace(settings, households=False)
    runs = {}
    for name, st in (("household", grouped), ("account-by-account", alone)):
        t0 = time.perf_counter()
        res = run_bulk(db, st, ids, executor="inline", save=False)
        runs[name] = (res.records, time.perf_counter() - t0)
    u, accounts = load_run(db, ids, grouped)  # with each grouped account's household spec
    ctx = Context(u, grouped)
    usd = u.fx_to["USD"]
    members: dict[int, list[AccountInput]] = defaultdict(list)
    for a in accounts:
        if a.group is not None:
            members[a.household_id].append(a)
    print(
        f"{len(members)} households in groups ({sum(map(len, members.values()))} accounts), as of {u.as_of}"
    )
    head = (
        "run",
        "wall s",
        "est. tax USD",
        "gross tax USD",
        "TE before",
        "TE after",
        "TE better",
        "turnover",
    )
    rows = []
    for name, (records, wall) in runs.items():
        by_acct = {r["account_id"]: r for r in records}
        tax = gross = 0.0
        te0, te1, better, turn = [], [], 0, []
        for accts in members.values():
            recs = [by_acct[a.id] for a in accts]
            fig = household_figures(ctx, accts, recs)
            fx = usd[accts[0].group.currency]  # type: ignore[union-attr]
            tax += fig["est_tax"] * fx
            gross += fig["est_tax_gross"] * fx
            te0.append(fig["te_before"])
            te1.append(fig["te_after"])
            better += fig["te_after"] < fig["te_before"] - 1e-9
            turn += [r.get("turnover", 0.0) for r in recs]
        rows.append(
            (
                name, f"{wall:.1f}", f"{tax:,.0f}", f"{gross:,.0f}", f"{np.mean(te0):.4%}",
                f"{np.mean(te1):.4%}", f"{better}/{len(te0)}", f"{np.mean(turn):.2%}",
            )
        )  # fmt: skip
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    print("  ".join(h.rjust(w) for h, w in zip(head, widths)))
    for r in rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(r, widths)))
