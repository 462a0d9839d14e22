"""A PM changes the quantity of one proposed trade, or removes it; the proposal is re-checked exactly.

The edit is applied to the proposal's trades and the proposal is checked again on the book as it
stands, exactly as a solve's rounded result is (`engine.rebalance.solve.check_rounded`): cash
sufficiency per currency with the FX spot trades netted again, no short sale, board lots and the
minimum trade size, exclusions and restrictions, sector/country/issuer caps, the mode (no buy in a
sell-only run), household wash-sale blocks and the lots the sells relieve. A proposal of a household
run is also checked against the other proposals of that run: no wash group bought in one account
and sold in another. Drift, tracking error, tax and cost are recomputed (`build_record`) and the
compliance rules in force are run on the edited trades (nothing stored by that check; the caller
gives that screen, engine.views.proposal_review.compliance_screen, as compliance sits above rebalance).

The outcome is kept in the payload: `recheck = {ok, violations, compliance, at, by}` and
`edits` (each edit: who, when, symbol, side, quantity before and after). A proposal whose re-check
did not pass cannot be accepted (`engine.rebalance.review`) until an edit makes it pass. Only a
proposal waiting for review (ok, or rejected) can be edited; the edit is the proposal state
machine's `edit` event (engine.state.proposals), audited `proposal.edit` with before and after, in
the same transaction as the new payload.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.errors import NotFound, WorkstationError
from engine.rebalance.book import AccountInput, Universe
from engine.rebalance.check import Violation
from engine.rebalance.prepare import Prepared, prepare
from engine.rebalance.record import build_record
from engine.rebalance.rounding import Rounded
from engine.rebalance.rounding import _fx as spot_trades
from engine.rebalance.run_inputs import load_run
from engine.rebalance.run_limits import settings_for
from engine.rebalance.settings import RebalanceSettings
from engine.rebalance.solve import check_rounded
from engine.rebalance.tables import Proposal
from engine.shared.errors import ConcurrentChange
from engine.state.proposals import OK, PROPOSALS, REJECTED
from engine.store.database import Database

EDITABLE = (OK, REJECTED)
RECHECKED = (
    "trades",
    "fx_trades",
    "before",
    "after",
    "est_tax",
    "est_cost",
    "turnover",
    "drift_note",
    "effective_drift",
    "value_base",
)


@dataclass(frozen=True)
class TradeEdit:
    """One change: the trade in `symbol` gets `quantity` (a positive number), or is removed."""

    symbol: str
    quantity: float | None = None
    remove: bool = False

    def validate(self, proposal_id: int) -> None:
        if self.remove == (self.quantity is not None):
            raise WorkstationError(
                f"proposal {proposal_id}: give a new quantity or remove the trade (one of them)"
            )
        if self.quantity is not None and not (np.isfinite(self.quantity) and self.quantity > 0):
            raise WorkstationError(
                f"proposal {proposal_id}, trade {self.symbol}, quantity: must be above 0, not {self.quantity:g} "
                "(remove the trade instead)"
            )


Screen = Callable[[Session, int], dict[str, Any]]
"""The compliance rules run on a proposal's stored trades, nothing stored: {outcome, rules}. Given by
the caller (engine.views.proposal_review.compliance_screen): compliance sits above rebalance."""


def edit_trade(
    database: Database, username: str, proposal_id: int, edit: TradeEdit, *, screen: Screen
) -> dict[str, Any]:
    """Apply `edit` as `username` (needs rebalance.run), re-check, store; returns the outcome:
    {proposal, symbol, side, before, after, ok, violations, compliance, record}. `screen` runs the
    compliance rules on the edited trades inside the same transaction (an error refuses the edit)."""
    edit.validate(proposal_id)
    with database.session() as s:
        require(s, username, Permission.REBALANCE_RUN)
        p = _editable(s, proposal_id)
        payload, version, account_id = copy.deepcopy(dict(p.payload or {})), p.version, p.account_id
        siblings = _household_trades(s, p)
    trades, side, before = apply_edit(proposal_id, payload.get("trades") or [], edit)
    u, accounts = load_run(database, [account_id])
    if not accounts:
        raise NotFound(f"proposal {proposal_id}: its account no longer exists")
    rec, violations = recheck(u, accounts[0], settings_for(payload), trades, str(payload.get("rung") or ""))
    violations += household_conflicts(u, trades, siblings)
    at = datetime.now(UTC).isoformat(timespec="seconds")
    change = {
        "symbol": edit.symbol,
        "side": side,
        "before": before,
        "after": 0.0 if edit.remove else edit.quantity,
    }
    new = {**payload, **{k: rec[k] for k in RECHECKED if k in rec}}
    new["edits"] = [*(payload.get("edits") or []), {**change, "by": username, "at": at}]
    new["recheck"] = {
        "ok": not violations,
        "violations": [str(v) for v in violations],
        "at": at,
        "by": username,
    }
    with database.transaction() as s:
        require(s, username, Permission.REBALANCE_RUN)
        p = _editable(s, proposal_id)
        if p.version != version:
            raise ConcurrentChange(
                f"proposal {proposal_id}", f"{p.status} (version {p.version}): edit it again"
            )
        p.payload = copy.deepcopy(new)
        s.flush()  # the compliance check reads the edited trades from the proposal
        has = bool(rec["trades"])
        new["recheck"]["compliance"] = screen(s, proposal_id) if has else {"outcome": "pass", "rules": []}
        p.payload = new
        flag_modified(p, "payload")
        detail = {
            "edit": change,
            "recheck": "passed" if not violations else "failed",
            "violations": new["recheck"]["violations"][:10],
        }
        PROPOSALS.fire(s, p, "edit", actor=username, detail=detail)
    return {
        "proposal": proposal_id,
        **change,
        "ok": not violations,
        "violations": new["recheck"]["violations"],
        "compliance": new["recheck"]["compliance"],
        "record": new,
    }


def _editable(s: Session, proposal_id: int) -> Proposal:
    p = s.get(Proposal, proposal_id)
    if p is None:
        raise NotFound(f"proposal {proposal_id} does not exist")
    if p.status not in EDITABLE:
        raise WorkstationError(
            f"proposal {proposal_id} is {p.status}: only a proposal waiting for review (ok or rejected) can be edited"
        )
    return p


def apply_edit(
    proposal_id: int, trades: list[dict[str, Any]], edit: TradeEdit
) -> tuple[list[dict[str, Any]], str, float]:
    """The trades after the edit (pure), the edited trade's side and its quantity before."""
    hits = [k for k, t in enumerate(trades) if str(t.get("symbol")) == edit.symbol]
    if not hits:
        raise NotFound(f"proposal {proposal_id} has no trade in {edit.symbol}")
    k = hits[0]
    t = trades[k]
    before = float(t["quantity"])
    if not edit.remove and edit.quantity is not None and abs(edit.quantity - before) < 1e-9:
        raise WorkstationError(
            f"proposal {proposal_id}, trade {edit.symbol}: the quantity is already {before:g}"
        )
    out = [dict(x) for x in trades]
    if edit.remove:
        del out[k]
    else:
        out[k] = {**t, "quantity": float(edit.quantity or 0.0)}
    return out, str(t["side"]), before


def recheck(
    u: Universe, a: AccountInput, s: RebalanceSettings, trades: list[dict[str, Any]], rung: str
) -> tuple[dict[str, Any], list[Violation]]:
    """The proposal record of `trades` on the account as it stands, and every hard constraint broken."""
    t0 = time.perf_counter()
    p = prepare(u, a, s, u.price_base(a.base))
    r, violations = _rounded(p, u, a, trades)
    out = check_rounded(p, u, s, r)
    violations = violations + list(out.violations)
    rec = build_record(p, u, s, r, out, "ok", "edited", rung or None, t0)
    return rec, violations


def _rounded(
    p: Prepared, u: Universe, a: AccountInput, trades: list[dict[str, Any]]
) -> tuple[Rounded, list[Violation]]:
    """The trades as the checker's quantities: sells relieve the lots the proposal named first, then
    the account's other lots of that security in its relief order."""
    pos = {str(x): k for k, x in enumerate(u.symbols[p.idx])}
    lot_at = {int(x): j for j, x in enumerate(a.lot_id)}
    buy, sell, lot_sold = np.zeros(p.n), np.zeros(p.n), np.zeros(len(a.lot_qty))
    bad: list[Violation] = []
    for t in trades:
        sym, q = str(t["symbol"]), float(t["quantity"])
        k = pos.get(sym)
        if k is None:
            bad.append(Violation("unknown security", f"{sym} is not in the account's universe any more"))
            continue
        if t["side"] == "buy":
            buy[k] += q
            continue
        sell[k] += q
        named = sorted(
            (lot_at[int(x["lot_id"])] for x in t.get("lots") or [] if int(x["lot_id"]) in lot_at),
            key=lambda j: int(p.lot_slot[j]),
        )
        rest = [
            j
            for j in np.flatnonzero(p.lot_pos == k)[np.argsort(p.lot_slot[p.lot_pos == k])]
            if j not in named
        ]
        left = q
        for j in [*named, *rest]:
            take = min(left, float(a.lot_qty[j]) - lot_sold[j])
            if take > 0:
                lot_sold[j] += take
                left -= take
        if left > 1e-9:
            bad.append(Violation("no shorting", f"sell {q:g} {sym} but the open lots hold {q - left:g}"))
    return Rounded(buy, sell, lot_sold, spot_trades(p, u, buy, sell)), bad


def _household_trades(s: Session, p: Proposal) -> list[tuple[str, str, str]]:
    """(account, symbol, side) of the other proposals of the same household run, rejected ones left out."""
    run = ((p.payload or {}).get("household") or {}).get("run_id")
    if not run:
        return []
    rows = s.scalars(
        select(Proposal).where(
            Proposal.batch_id == p.batch_id, Proposal.id != p.id, Proposal.status != REJECTED
        )
    )
    out = []
    for o in rows:
        pay = o.payload or {}
        if (pay.get("household") or {}).get("run_id") == run:
            out += [
                (str(pay.get("account")), str(t["symbol"]), str(t["side"])) for t in pay.get("trades") or []
            ]
    return out


def household_conflicts(
    u: Universe, trades: list[dict[str, Any]], others: list[tuple[str, str, str]]
) -> list[Violation]:
    """A wash group this proposal buys that another account of the household sells, or the reverse."""
    index = {str(x): i for i, x in enumerate(u.symbols)}

    def group(sym: str) -> str:
        i = index.get(sym)
        return sym if i is None else str(u.symbols[u.wash_group[i]])

    theirs = {(group(sym), side): acct for acct, sym, side in others}
    out = []
    for t in trades:
        opposite = "sell" if t["side"] == "buy" else "buy"
        acct = theirs.get((group(str(t["symbol"])), opposite))
        if acct is not None:
            out.append(
                Violation(
                    "household",
                    f"{t['side']} of {t['symbol']} while {acct} {opposite}s it in the same household run",
                )
            )
    return out
