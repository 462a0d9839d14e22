"""Tax-loss harvesting like the desks do it: thresholds, an interval, substitutes, the wash window.

A lot is harvested only when its unrealized loss exceeds both the money threshold (base
currency) and the percentage of its cost; an account that realized a loss within the interval
is not harvested again; the household's recent purchases of the security (or anything
substantially identical) within 30 days block it. A harvested position is replaced by its
substitute (same asset class, not substantially identical, from
`resources/rebalance/substitutes.csv`; of a group, the one whose swap adds the least tracking
error), so the exposure stays: the optimiser may buy only those substitutes and weighs the loss's
tax saving against the tracking error. Nothing in a harvested wash group is bought back within
the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Float, cast, func, select
from sqlalchemy.orm import Session

from engine.accounting.tables import IdenticalGroup, RealizedGain
from engine.errors import ImportValidationError, Problem
from engine.rebalance.book import AccountInput, Universe
from engine.rebalance.data_file import csv_rows
from engine.rebalance.settings import RebalanceSettings
from engine.rebalance.taxes import UNTAXED
from engine.store.accounts import Account

SUBSTITUTES_FILE = (
    Path(__file__).resolve().parents[2] / "resources" / "rebalance" / "substitutes.csv"
)  # shipped list
COLUMNS = ("asset_class", "group", "symbol")
WASH_DAYS = 30


@dataclass(frozen=True)
class HarvestRules:
    """The thresholds a lot must pass and the interval between an account's harvests."""

    min_loss_base: float
    min_loss_pct: float
    interval_days: int


def read_substitutes(path: Path, u: Universe) -> np.ndarray:
    """Substitute groups from a CSV (asset_class, group, symbol) as a per-security array of group
    ids (-1: no substitute). Every bad row is reported with its row, field and reason."""
    index = {str(s): i for i, s in enumerate(u.symbols)}
    group_of = np.full(len(u.ids), -1, dtype=int)
    errors: list[Problem] = []
    names: dict[str, int] = {}
    classes: dict[str, str] = {}
    members: dict[str, list[int]] = {}
    rows_of: dict[str, int] = {}
    for row_no, (ac, grp, sym) in csv_rows(path, COLUMNS):
        if not grp:
            errors.append(Problem(row_no, "group", "empty"))
            continue
        i = index.get(sym)
        if i is None:
            errors.append(Problem(row_no, "symbol", f"unknown security {sym!r}"))
            continue
        if str(u.asset_class[i]) != ac:
            errors.append(Problem(row_no, "asset_class", f"{sym} is {u.asset_class[i]}, not {ac!r}"))
            continue
        if classes.setdefault(grp, ac) != ac:
            errors.append(Problem(row_no, "asset_class", f"group {grp} is {classes[grp]}, not {ac}"))
            continue
        if group_of[i] >= 0:
            errors.append(Problem(row_no, "symbol", f"{sym} is already in another substitute group"))
            continue
        same = [j for j in members.get(grp, []) if u.wash_group[j] == u.wash_group[i]]
        if same:
            other = u.symbols[same[0]]
            errors.append(
                Problem(row_no, "symbol", f"{sym} is substantially identical to {other} (same group)")
            )
            continue
        group_of[i] = names.setdefault(grp, len(names))
        members.setdefault(grp, []).append(i)
        rows_of.setdefault(grp, row_no)
    for grp, ids in members.items():
        if len(ids) < 2 and not any(e.row == rows_of[grp] for e in errors):
            errors.append(
                Problem(rows_of[grp], "group", f"group {grp} has one security: nothing to swap into")
            )
    if errors:
        raise ImportValidationError(str(path), errors)
    return group_of


def apply_identical_groups(session: Session, u: Universe) -> None:
    """Join the configured substantially identical groups (engine.accounting identical_groups) into
    the universe's wash groups, so a harvest blocks share classes and twin funds too."""
    rows = session.execute(select(IdenticalGroup.security_id, IdenticalGroup.group_code)).all()
    if not rows:
        return
    index = u.index_of()
    rep: dict[str, int] = {}
    for sid, code in sorted(rows, key=lambda r: (r[1], r[0])):
        if int(sid) in index:
            i = index[int(sid)]
            first = rep.setdefault(str(code), int(u.wash_group[i]))
            u.wash_group[u.wash_group == u.wash_group[i]] = first


def attach_harvest_history(session: Session, u: Universe, accounts: list[AccountInput]) -> None:
    """From the ledger's realized gains: each account's last realized loss (the harvest interval)
    and the household's loss sales within 30 days (no buy back of those wash groups)."""
    if not accounts:
        return
    ids = [a.id for a in accounts]
    last = dict(
        session.execute(
            select(RealizedGain.account_id, func.max(RealizedGain.sold))
            .where(RealizedGain.account_id.in_(ids), cast(RealizedGain.gain_base, Float) < 0)
            .group_by(RealizedGain.account_id)
        ).all()
    )
    hh = {a.id: a.household_id for a in accounts}
    start = u.as_of - timedelta(days=WASH_DAYS)
    recent = session.execute(
        select(RealizedGain.account_id, RealizedGain.security_id, RealizedGain.sold)
        .where(cast(RealizedGain.gain_base, Float) < 0, RealizedGain.sold >= start)
        .order_by(RealizedGain.sold)
    ).all()
    index = u.index_of()
    blocked: dict[int, dict[int, str]] = {}
    holder = dict(session.execute(select(Account.id, Account.household_id)).all())
    households = set(hh.values())
    for acct, sid, sold in recent:
        if int(sid) in index and holder.get(acct) in households:
            g = int(u.wash_group[index[int(sid)]])
            blocked.setdefault(holder[acct], {})[g] = (
                f"wash sale: {u.symbols[index[int(sid)]]} realized a loss on {sold}"
            )
    for a in accounts:
        a.last_harvest = last.get(a.id)
        extra = blocked.get(a.household_id)
        if extra:
            a.wash_blocked = {**extra, **a.wash_blocked}


def harvest_lots(
    u: Universe,
    a: AccountInput,
    rules: HarvestRules,
    gain_unit: np.ndarray,
    cost_unit_base: np.ndarray,
    substitute_ok: np.ndarray,
) -> np.ndarray:
    """Bool per lot: harvest it (loss past both thresholds, no recent household buy of its wash
    group, the account taxable and not harvested within the interval, a substitute exists)."""
    if a.tax_status in UNTAXED:  # no tax to save: an IRA is never harvested (its buys still wash)
        return np.zeros(len(a.lot_qty), dtype=bool)
    if a.last_harvest is not None and (u.as_of - _as_date(a.last_harvest)).days < rules.interval_days:
        return np.zeros(len(a.lot_qty), dtype=bool)
    loss = -gain_unit * a.lot_qty
    cost = cost_unit_base * a.lot_qty
    pct = np.divide(loss, cost, out=np.zeros_like(loss), where=cost > 0)
    fresh = np.isin(u.wash_group[a.lot_sec], list(a.recent_buys))
    return (
        (gain_unit < 0)
        & (loss > rules.min_loss_base)
        & (pct > rules.min_loss_pct)
        & ~fresh
        & substitute_ok[a.lot_sec]
    )


def _as_date(d: date | pd.Timestamp | str) -> date:
    if isinstance(d, str):
        return date.fromisoformat(d[:10])
    if isinstance(d, pd.Timestamp):
        return d.date()
    return d


_GROUPS: dict[tuple[int, str], tuple[Universe, np.ndarray]] = {}


def substitute_groups(u: Universe, path: str | None) -> np.ndarray:
    """The validated substitute group of every security (-1: none), read once per process."""
    file = Path(path) if path else SUBSTITUTES_FILE
    key = (id(u), str(file))
    hit = _GROUPS.get(key)
    if hit is None or hit[0] is not u:  # the universe itself is kept, so an id is never reused
        hit = _GROUPS[key] = (u, read_substitutes(file, u))
    return hit[1]


def substitute_candidates(u: Universe, groups: np.ndarray, held: np.ndarray) -> np.ndarray:
    """Universe indices that substitute for any held security (so the account's problem has them)."""
    g = np.unique(groups[held])
    g = g[g >= 0]
    return np.flatnonzero(np.isin(groups, g)) if len(g) else np.array([], dtype=int)


def plan(
    u: Universe,
    a: AccountInput,
    s: RebalanceSettings,
    groups: np.ndarray,
    idx: np.ndarray,
    lot_pos: np.ndarray,
    gain_unit: np.ndarray,
    pb: np.ndarray,
    value: float,
    drift: np.ndarray,
    eligible: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(harvested securities, harvested lots, substitute position per security or -1) of one
    account, over its n securities `idx` (`groups`: their substitute groups; `eligible`: may be
    bought: not excluded, not wash-blocked)."""
    n = len(idx)
    rules = HarvestRules(s.harvest_min_loss_base, s.harvest_min_pct, s.harvest_interval_days)
    wash = u.wash_group[idx]
    # A stale price or FX rate (engine.pricing.staleness) never prices a substitute's purchase.
    stale = np.isin(idx, list(u.stale)) | (
        np.isin(u.currency[idx], list(u.stale_fx)) & (u.currency[idx] != a.base)
    )
    eligible = eligible & ~stale
    # Members of one group are never substantially identical (validated), so a security has a
    # substitute when another member of its group is eligible.
    ok = eligible & (groups >= 0)
    per_group = np.bincount(groups[ok], minlength=int(groups.max(initial=-1)) + 1)
    has = np.zeros(len(u.ids), dtype=bool)
    has[idx] = (groups >= 0) & (per_group[np.maximum(groups, 0)] - ok > 0)
    cost_base = a.lot_cost * u.multiplier[a.lot_sec] * a.lot_fx
    lots = harvest_lots(u, a, rules, gain_unit, cost_base, has)
    harvest = np.zeros(n, dtype=bool)
    harvest[np.unique(lot_pos[lots])] = True
    x = np.bincount(lot_pos, weights=a.lot_qty * pb[lot_pos] * lots, minlength=n) / value
    expo = u.exposures[idx] if u.exposures is not None else np.zeros((n, 1))
    spec = u.specific[idx] if u.specific is not None else np.zeros(n)
    substitute = choose_substitutes(groups, wash, eligible, harvest, TeCost(drift, expo, spec, x))
    # Two harvested members of one group cannot swap into each other: keep those that found one.
    harvest &= substitute >= 0
    lots &= harvest[lot_pos]
    return harvest, lots, substitute


def choose_substitutes(
    groups: np.ndarray, wash: np.ndarray, eligible: np.ndarray, harvested: np.ndarray, te_cost: TeCost
) -> np.ndarray:
    """Per security of the account (arrays over its n securities): for each harvested one, the
    position of the substitute its harvest buys, else -1. A substitute is in the same group,
    eligible (not excluded, not wash-blocked), and not in the wash group of anything harvested;
    among those, the one whose swap adds the least tracking error (`te_cost`), then the first."""
    out = np.full(len(groups), -1, dtype=int)
    bad_wash = set(wash[harvested].tolist())
    ok = eligible & (groups >= 0) & ~np.isin(wash, list(bad_wash))
    for k in np.flatnonzero(harvested & (groups >= 0)).tolist():
        cand = np.flatnonzero(ok & (groups == groups[k]) & (wash != wash[k]))
        if len(cand):
            out[k] = cand[np.lexsort((cand, te_cost(k, cand)))[0]]
    return out


class TeCost:
    """Change in squared tracking error when weight x moves from security k to each candidate j:
    2x (B'd).(B_j - B_k) + 2x (s_j^2 d_j - s_k^2 d_k) + x^2 (|B_j - B_k|^2 + s_j^2 + s_k^2),
    with d the drift (weights minus model), B the factor exposures and s specific volatility."""

    def __init__(self, drift: np.ndarray, exposures: np.ndarray, specific: np.ndarray, x: np.ndarray) -> None:
        self.d, self.b, self.s2, self.x = drift, exposures, specific**2, x
        self.bd = exposures.T @ drift

    def __call__(self, k: int, cand: np.ndarray) -> np.ndarray:
        x = max(float(self.x[k]), 1e-6)
        db = self.b[cand] - self.b[k]
        lin = 2 * x * (db @ self.bd + self.s2[cand] * self.d[cand] - self.s2[k] * self.d[k])
        return lin + x * x * ((db**2).sum(axis=1) + self.s2[cand] + self.s2[k])
