"""Read model of the PM's Household dock: a household's accounts together, their values in the
household's reporting currency, the aggregate's drift and tracking error against the household
target (its group's model, or the value-weighted blend of its accounts' models, exactly as the
household solve measures it: engine.rebalance.household_figures), and the proposals of its latest
household run (or each account's latest proposal when it has none)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from engine.errors import NotFound
from engine.rebalance.context import Context
from engine.rebalance.household_figures import aggregate_te, prepare_all, shares_of, target_of
from engine.rebalance.households import BLEND, HouseholdSpec
from engine.rebalance.record import tracking_error
from engine.rebalance.run_inputs import load_run
from engine.rebalance.settings import RebalanceSettings
from engine.rebalance.tables import HouseholdGroup, Proposal
from engine.rebalance.tax_year import realized_by_term
from engine.store.accounts import Account, Household, Model
from engine.store.database import Database

HOUSEHOLD_KEYS = ["code", "name", "accounts", "target", "currency"]
ACCOUNT_KEYS = [
    "account",
    "tax_status",
    "base_currency",
    "model",
    "value_base",
    "value",
    "currency",
    "share",
    "cash",
    "max_drift",
    "tracking_error",
    "ytd_short",
    "ytd_long",
    "ytd_tax",
    "tax_budget",
    "budget_left",
]
DRIFT_KEYS = ["symbol", "sector", "weight", "target", "drift", "accounts"]
PROPOSAL_KEYS = [
    "id",
    "account",
    "status",
    "trades",
    "turnover",
    "est_tax",
    "base_currency",
    "te_before",
    "te_after",
    "created_by",
    "batch",
]


@dataclass
class HouseholdView:
    summary: dict[str, Any]
    accounts: pd.DataFrame
    drift: pd.DataFrame
    proposals: pd.DataFrame


def households(database: Database) -> pd.DataFrame:
    """Every household with its account count, its group's target (or "" when it has no group)."""
    with database.session() as s:
        rows = s.execute(
            select(
                Household.code,
                Household.name,
                func.count(Account.id),
                HouseholdGroup.target_model_id,
                HouseholdGroup.reporting_currency,
                HouseholdGroup.id,
            )
            .join(Account, Account.household_id == Household.id)
            .join(HouseholdGroup, HouseholdGroup.household_id == Household.id, isouter=True)
            .group_by(Household.id, HouseholdGroup.id)
            .order_by(Household.code)
        ).all()
        models = dict(s.execute(select(Model.id, Model.code)).all())
    out = [
        {
            "code": c,
            "name": n,
            "accounts": int(k),
            "currency": ccy or "",
            "target": "" if gid is None else (BLEND if mid is None else str(models.get(mid, "?"))),
        }
        for c, n, k, mid, ccy, gid in rows
    ]
    return pd.DataFrame(out, columns=HOUSEHOLD_KEYS)


def household_view(database: Database, code: str) -> HouseholdView:
    """The household's accounts, aggregate drift against its target, and its latest proposals."""
    with database.session() as s:
        hh = s.scalar(select(Household).where(Household.code == code))
        if hh is None:
            raise NotFound(f"household {code!r} does not exist")
        ids = list(s.scalars(select(Account.id).where(Account.household_id == hh.id).order_by(Account.code)))
        models = dict(s.execute(select(Model.id, Model.code)).all())
        name = hh.name
    u, accounts = load_run(database, ids, RebalanceSettings(households=True))
    accounts = [a for a in accounts if a.model_id is not None] or accounts
    spec = accounts[0].group if accounts and accounts[0].group is not None else None
    grouped = spec is not None
    ctx = Context(u, RebalanceSettings())
    preps = prepare_all(ctx, accounts)
    if (
        spec is None
    ):  # no group: the value-weighted blend of the accounts' models, in the largest account's currency
        ref = preps[0].account.base if preps else "USD"
        big = max(preps, key=lambda p: p.value * u.fx_to[ref][p.account.base]) if preps else None
        ccy = big.account.base if big is not None else "USD"
        spec = HouseholdSpec(hh.id, code, BLEND, None, ccy, None, 0.0, 0.0, 0.0)
    shares = shares_of(u, spec, preps) if preps else np.zeros(0)
    union = np.unique(np.concatenate([p.idx for p in preps])) if preps else np.zeros(0, dtype=int)
    target = target_of(u, spec, preps, shares, union) if preps else np.zeros(0)
    te = aggregate_te(u, preps, shares, union, target, [p.w0 for p in preps]) if preps else 0.0
    agg = np.zeros(len(union))
    held_by = np.zeros(len(union), dtype=int)
    for p, sh in zip(preps, shares):
        at = np.searchsorted(union, p.idx)
        np.add.at(agg, at, sh * p.w0)
        np.add.at(held_by, at, (p.qty0 > 0).astype(int))
    cash_w = float(sum(sh * p.cash0 for p, sh in zip(preps, shares)))
    cash_t = 1.0 - float(target.sum())
    drift = pd.DataFrame(
        {
            "symbol": [str(x) for x in u.symbols[union]],
            "sector": [str(x) for x in u.sector[union]],
            "weight": agg,
            "target": target,
            "drift": agg - target,
            "accounts": held_by,
        }
    )
    drift = pd.concat(
        [
            drift,
            pd.DataFrame(
                [
                    {
                        "symbol": f"CASH ({spec.currency})",
                        "sector": "cash, all currencies",
                        "weight": cash_w,
                        "target": cash_t,
                        "drift": cash_w - cash_t,
                        "accounts": len(preps),
                    }
                ]
            ),
        ],
        ignore_index=True,
    )
    drift = drift[(drift["weight"].abs() > 1e-12) | (drift["target"].abs() > 1e-12)]
    drift = drift.reindex(drift["drift"].abs().sort_values(ascending=False).index).reset_index(drop=True)
    with database.session() as s:
        realized = realized_by_term(s, u.as_of, [p.account.id for p in preps])
    rows = []
    for p, sh in zip(preps, shares):
        a = p.account
        d = np.abs(p.w0 - p.wm).max(initial=0.0)
        gains = realized.get(a.id, {"short": 0.0, "long": 0.0})
        own_tax = a.year.own_ytd_tax if a.year is not None else 0.0
        budget = a.year.account_budget if a.year is not None else None
        rows.append(
            {
                "account": a.code,
                "tax_status": a.tax_status,
                "base_currency": a.base,
                "model": models.get(a.model_id or -1, ""),
                "value_base": round(p.value, 2),
                "value": round(p.value * u.fx_to[spec.currency][a.base], 2),
                "currency": spec.currency,
                "share": float(sh),
                "cash": float(p.cash0),
                "max_drift": float(max(d, abs(p.cash0 - a.cash_target))),
                "tracking_error": tracking_error(p, u, p.w0),
                "ytd_short": round(gains["short"], 2),
                "ytd_long": round(gains["long"], 2),
                "ytd_tax": round(own_tax, 2),
                "tax_budget": budget,
                "budget_left": None if budget is None else round(budget - max(own_tax, 0.0), 2),
            }
        )
    frame = pd.DataFrame(rows, columns=ACCOUNT_KEYS)
    to_hh = np.array([u.fx_to[spec.currency][p.account.base] for p in preps], dtype=float)
    taxable = np.array([p.account.tax_status == "taxable" for p in preps], dtype=bool)
    summary = {
        "household": code,
        "name": name,
        "grouped": grouped,
        "target": spec.target,
        "currency": spec.currency,
        "value": round(float(frame["value"].sum()), 2) if len(frame) else 0.0,
        "accounts": len(frame),
        "tracking_error": te,
        "max_drift": float(drift["drift"].abs().max()) if len(drift) else 0.0,
        "tax_budget": spec.tax_budget,
        # The year so far in the household's currency: sums of the taxable accounts' lines shown.
        "ytd_gain": _sum_in(frame, "ytd_short", to_hh, taxable) + _sum_in(frame, "ytd_long", to_hh, taxable),
        "ytd_tax": _sum_in(frame, "ytd_tax", to_hh, taxable),
        "carry_forward": spec.carry_forward,
        "as_of": u.as_of.isoformat(),
    }
    props, run = _proposals(database, ids)
    summary["run"] = run
    return HouseholdView(summary, frame, drift, props)


def _sum_in(frame: pd.DataFrame, column: str, to_hh: np.ndarray, taxable: np.ndarray) -> float:
    """The taxable accounts' `column` (base currencies) summed in the household's currency."""
    if not len(frame):
        return 0.0
    return round(float((frame[column].to_numpy(dtype=float) * to_hh)[taxable].sum()), 2)


def _proposals(database: Database, account_ids: list[int]) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """The latest household run's proposals of these accounts (with the household's figures), or
    else each account's latest proposal."""
    with database.session() as s:
        rows = list(
            s.execute(
                select(Proposal, Account.code)
                .join(Account, Account.id == Proposal.account_id)
                .where(Proposal.account_id.in_(account_ids))
                .order_by(Proposal.id.desc())
            )
        )
    runs = [
        (p, c) for p, c in rows if ((p.payload or {}).get("household") or {}).get("te_before") is not None
    ]
    run: dict[str, Any] | None = None
    if runs:
        run_id = runs[0][0].payload["household"]["run_id"]
        chosen = [(p, c) for p, c in runs if p.payload["household"].get("run_id") == run_id]
        run = {k: v for k, v in runs[0][0].payload["household"].items() if not isinstance(v, list | dict)}
    else:
        seen: set[str] = set()
        chosen = []
        for p, c in rows:
            if c not in seen:
                seen.add(c)
                chosen.append((p, c))
    out = []
    for p, c in sorted(chosen, key=lambda pc: pc[1]):
        pay = p.payload or {}
        out.append(
            {
                "id": p.id,
                "account": c,
                "status": p.status,
                "trades": len(pay.get("trades") or []),
                "turnover": pay.get("turnover"),
                "est_tax": pay.get("est_tax"),
                "base_currency": pay.get("base_currency", ""),
                "te_before": (pay.get("before") or {}).get("tracking_error"),
                "te_after": (pay.get("after") or {}).get("tracking_error"),
                "created_by": p.created_by,
                "batch": str(p.batch_id)[:8],
            }
        )
    return pd.DataFrame(out, columns=PROPOSAL_KEYS), run
