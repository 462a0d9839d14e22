"""Directed trades: buy or sell X% of one security across many accounts, by priority, in board lots.

A desk decision ("add 2% of XYZ to every account on the model", "sell half of ABC everywhere")
rather than a solve: each account's trade is computed, rounded and checked exactly like a
proposal (`solve.check_rounded`), and recorded with rung `directed`.

* **buy**: `pct` of the account's value, rounded down to whole board lots, no more than the cash
  above the account's floor pays for (costs and the FX spot trade included): if the check fails
  on cash, one lot less is tried until it passes. An account that may not buy the security
  (excluded, wash-sale block) gets no trade and the reason says why.
* **sell**: `pct` of the position held, down to whole board lots (all of it at 100%), lots in
  the account's relief order.
* **priority**: accounts in the order of `DirectedTrade.priority` (lower first; accounts not
  listed after them, by code); with `limit_qty` the quantity runs out in that order.
* Every other position is untouched. The trade is judged on the breaches it adds: one the account
  already had that the trade cannot worsen (an excluded holding not yet sold, another group's cap
  already over) does not stop it, and a full rebalance still fixes it; a cash floor already
  breached stops every buy. Runs in one process in priority order (it solves nothing).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from typing import Any

import numpy as np

from engine.errors import NotFound, WorkstationError
from engine.rebalance.book import AccountInput, Universe
from engine.rebalance.bulk import BulkResult, persist, summarize
from engine.rebalance.check import Outcome, Violation
from engine.rebalance.context import Context
from engine.rebalance.prepare import Prepared, prepare
from engine.rebalance.record import build_record
from engine.rebalance.rounding import Rounded
from engine.rebalance.rounding import _fx as fx_trades
from engine.rebalance.run_inputs import load_run
from engine.rebalance.settings import DirectedTrade, RebalanceSettings
from engine.rebalance.solve import check_rounded
from engine.store.database import Database

RUNG = "directed"


def ordered(accounts: list[AccountInput], d: DirectedTrade) -> list[tuple[AccountInput, int | None]]:
    """Accounts in priority order with their priority (None: not listed, after the listed ones)."""
    prio = dict(d.priority)
    unknown = set(prio) - {a.code for a in accounts}
    if unknown:
        raise NotFound(
            f"directed trade: priority names accounts not in the run: {', '.join(sorted(unknown))}"
        )
    keyed = sorted(accounts, key=lambda a: (a.code not in prio, prio.get(a.code, 0), a.code))
    return [(a, prio.get(a.code)) for a in keyed]


def _universe_with(u: Universe, i: int) -> Universe:
    """The universe whose every model carries security i at a negligible weight, so each account's
    prepared problem has a position for it (prepare keeps held and model securities only)."""
    models = {m: np.where(np.arange(len(w)) == i, np.maximum(w, 1e-15), w) for m, w in u.models.items()}
    return replace(u, models=models)


def _sell_lots(p: Prepared, k: int, qty: float) -> np.ndarray:
    a = p.account
    sold = np.zeros(len(a.lot_qty))
    lot_w = np.asarray(p.values["lot_w"])
    left = qty
    for j in sorted(np.flatnonzero(p.lot_pos == k).tolist(), key=lambda j: int(p.lot_slot[j])):
        if left <= 1e-9 or lot_w[k, p.lot_slot[j]] <= 0:
            continue
        take = min(float(a.lot_qty[j]), left)
        sold[j] = take
        left -= take
    return sold


def directed_record(
    ctx: Context, a: AccountInput, d: DirectedTrade, i: int, priority: int | None, left: float | None
) -> dict[str, Any]:
    """One account's directed trade as a checked proposal record."""
    t0 = time.perf_counter()
    u, s = ctx.u, ctx.s
    p = prepare(u, a, s, ctx.pb(a.base))
    k = int(np.searchsorted(p.idx, i))
    sym = str(u.symbols[i])
    lot = float(u.lot_size[i])
    empty = Rounded(np.zeros(p.n), np.zeros(p.n), np.zeros(len(a.lot_qty)))
    facts = ctx.facts.setdefault(a.base, {})
    buy = d.side == "buy"
    if buy:
        want = d.pct * p.value / p.pb[k]
        why_not = "excluded for the account" if p.excluded[k] else ("wash-sale block" if p.blocked[k] else "")
    else:
        want = d.pct * p.qty0[k]
        why_not = "" if p.qty0[k] > 0 else "the account holds none"
    qty = float(np.floor(want / lot + 1e-9) * lot)
    if not buy and d.pct >= 1.0:
        qty = float(p.qty0[k])
    causes: list[str] = []
    if left is not None and qty > np.floor(left / lot + 1e-9) * lot:
        qty = float(np.floor(max(left, 0.0) / lot + 1e-9) * lot)
        causes.append(f"the run's limit of {d.limit_qty:,.0f} is used up")
    note = f"directed: {d.side} {d.pct:.2%} {'of value in' if buy else 'of the holding of'} {sym}"
    note += f" (priority {priority})" if priority is not None else ""
    if not why_not and qty * p.pb[k] < p.min_trade:
        why_not = "; ".join(causes) or "under the minimum trade or one board lot"
    known = {_key(v) for v in check_rounded(p, u, s, empty, facts).violations}
    touched = {sym, str(u.issuer[i]), str(u.sector[i]), str(u.country[i])}
    out = None
    r = empty
    while not why_not and qty > 0:
        b = np.zeros(p.n)
        sl = np.zeros(p.n)
        (b if buy else sl)[k] = qty
        lots = empty.lot_sold if buy else _sell_lots(p, k, qty)
        r = Rounded(b, sl, lots, fx_trades(p, u, b, sl))
        out = _new_only(check_rounded(p, u, s, r, facts), known, touched if buy else None)
        if out.ok or not buy:
            break
        qty -= lot  # cash sufficiency: one board lot less
        if "cash" not in causes:
            causes.append("cash")
        if qty * p.pb[k] < p.min_trade:
            why_not = f"cash: {out.violations[0]}"
    if out is None or not out.ok or why_not:
        if out is not None and not out.ok and not buy:
            rec = build_record(p, u, s, empty, None, "infeasible", f"{note}: {out.violations[0]}", None, t0)
            return {**rec, "directed": _detail(d, want, 0.0, priority)}
        out = _new_only(check_rounded(p, u, s, empty, facts), known)
        rec = build_record(
            p, u, s, empty, out, "ok", f"{note}: no trade ({why_not or 'nothing to trade'})", RUNG, t0
        )
        return {**rec, "drift_note": None, "directed": _detail(d, want, 0.0, priority)}
    rec = build_record(p, u, s, r, out, "ok", note, RUNG, t0)
    for t in rec["trades"]:
        t["reason"] = note
    short = ""
    if want - qty >= lot:
        short = f"; {qty:,.0f} of {want:,.0f} ({', '.join(causes) or 'board lots'})"
    rec["reason"] = note + short
    if rec.get("drift_note") or rec["after"]["tracking_error"] > rec["before"]["tracking_error"] + 1e-9:
        rec["drift_note"] = f"directed trade: {d.side} {sym} as the desk directed, whatever the model says"
    return {**rec, "directed": _detail(d, want, qty, priority)}


def _key(v: Violation) -> tuple[str, str]:
    """A violation without its numbers: the same breach before and after the trade."""
    return v.constraint, " ".join(w for w in v.detail.split() if not any(c.isdigit() for c in w))


def _new_only(out: Outcome, known: set[tuple[str, str]], touched: set[str] | None = None) -> Outcome:
    """The check's outcome without the breaches the account had before that the trade cannot
    make worse: an excluded holding not yet sold, or (for a buy) a cap of another sector, country
    or issuer. A cash floor already breached is never waived (a buy would deepen it), nor a
    breach that names what is bought (`touched`: its symbol, issuer, sector, country)."""

    def waived(v: Violation) -> bool:
        if _key(v) not in known or "cash" in v.constraint:
            return False
        return touched is None or not any(t and t in v.detail for t in touched)

    return replace(out, violations=tuple(v for v in out.violations if not waived(v)))


def _detail(d: DirectedTrade, want: float, qty: float, priority: int | None) -> dict[str, Any]:
    return {"symbol": d.symbol, "side": d.side, "pct": d.pct, "wanted": round(float(want), 6), "quantity": qty,
            "priority": priority}  # fmt: skip


def run_directed(
    database: Database,
    settings: RebalanceSettings,
    account_ids: list[int] | None = None,
    *,
    user: str | None = None,
    save: bool = True,
) -> BulkResult:
    """A directed-trade run over the accounts (saved as proposals created by `user` unless not `save`)."""
    d = settings.directed
    if d is None or d.side not in ("buy", "sell") or not 0 < d.pct <= 1:
        raise WorkstationError("directed trade: needs a symbol, side buy|sell and a fraction in (0, 1]")
    if save and not user:
        raise WorkstationError("a rebalance that saves proposals needs the signed-in user it runs for")
    t0 = time.perf_counter()
    u, accounts = load_run(database, account_ids, settings)
    where = np.flatnonzero(u.symbols == d.symbol)
    if not len(where):
        raise NotFound(f"directed trade: no such security {d.symbol!r}")
    i = int(where[0])
    ctx = Context(_universe_with(u, i), settings)
    load_s = time.perf_counter() - t0
    left = d.limit_qty
    records = []
    for a, prio in ordered(accounts, d):
        rec = directed_record(ctx, a, d, i, prio, left)
        if left is not None:
            left -= float(rec["directed"]["quantity"])
        records.append(rec)
    batch_id = uuid.uuid4().hex
    if save:
        persist(database, batch_id, records, str(user), f"{settings.mode}/directed")
    seconds = time.perf_counter() - t0
    result = BulkResult(batch_id, records, seconds, load_s)
    result.summary = summarize(records, seconds, dict(u.fx_to.get("USD", {}))) | {
        "batch_id": batch_id, "cancelled": False, "not_run": 0, "load_seconds": round(load_s, 3),
    }  # fmt: skip
    return result
