"""The seven steps of a date's close, in order; each returns its counts and exceptions.

A step either works in the transaction the cycle gives it (its work and its `done` commit
together) or, like the inbox, in transactions of its own (`session` is None then). Steps read
the store, not each other: a run resumed at a later step recomputes what it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.accounting.cash import settle_due
from engine.accounting.tables import CashMovement
from engine.daycycle import corporate
from engine.daycycle.inbox import InboxKind, load_inbox
from engine.daycycle.values import Valuation, revalue, store_daily_values
from engine.rebalance.book import load_accounts, load_universe
from engine.rebalance.drift import book_drift
from engine.reconcile.run import reconcile
from engine.reconcile.tables import Statement
from engine.store.database import Database


@dataclass
class DayContext:
    """What every step may use: the store, the date, who acts, the inbox and its readers."""

    database: Database
    day: date
    username: str
    inbox: Path
    kinds: Sequence[InboxKind]
    valuation: Valuation | None = field(default=None, repr=False)

    def valued(self, session: Session) -> Valuation:
        """The revaluation of the date (computed once per run, again after a resume)."""
        if self.valuation is None:
            self.valuation = revalue(session, self.day)
        return self.valuation


Outcome = tuple[dict[str, Any], list[dict[str, Any]]]


@dataclass(frozen=True)
class Step:
    """A named step; `transactional` ones run inside the cycle's transaction."""

    name: str
    run: Callable[[DayContext, Session | None], Outcome]
    transactional: bool = True


def load(ctx: DayContext, session: Session | None) -> Outcome:
    """1. Load every inbox file not loaded before (one transaction per file)."""
    result = load_inbox(ctx.database, ctx.inbox, ctx.kinds, ctx.day, ctx.username)
    return {**result.counts(), "inbox": str(ctx.inbox)}, result.exceptions


def book_corporate(ctx: DayContext, session: Session | None) -> Outcome:
    """2. Book the corporate actions due on or before the date."""
    assert session is not None
    return corporate.book_due(session, ctx.day, ctx.username)


def settle(ctx: DayContext, session: Session | None) -> Outcome:
    """3. Move cash whose settle date has come from unsettled to settled, counted per currency."""
    assert session is not None
    due = session.execute(
        select(CashMovement.currency, func.count(), func.sum(CashMovement.amount),
               func.count(func.distinct(CashMovement.account_id)))
        .where(CashMovement.settled.is_(False), CashMovement.settle_date <= ctx.day)
        .group_by(CashMovement.currency)
        .order_by(CashMovement.currency)
    ).all()  # fmt: skip
    moved = settle_due(session, ctx.day)
    return {
        "movements": moved,
        "accounts": int(sum(a for *_, a in due)),
        "by_currency": {c: {"movements": int(n), "amount": str(amt)} for c, n, amt, _ in due},
    }, []


def revalue_book(ctx: DayContext, session: Session | None) -> Outcome:
    """4. Revalue every account at the date's closes and FX; stale data are exceptions."""
    assert session is not None
    ctx.valuation = None  # always the store as it is now
    v = ctx.valued(session)
    return v.counts(), v.exceptions


def store_values(ctx: DayContext, session: Session | None) -> Outcome:
    """5. Store each account's daily value and the external flows since the last close."""
    assert session is not None
    return store_daily_values(session, ctx.valued(session)), []


def reconcile_custodians(ctx: DayContext, session: Session | None) -> Outcome:
    """6. Reconcile every custodian that sent a statement for the date."""
    assert session is not None
    names = sorted(session.scalars(select(Statement.custodian).where(Statement.as_of == ctx.day).distinct()))
    if not names:
        return {"custodians": 0}, []
    result = reconcile(session, ctx.day, names, run_by=ctx.username)
    by: dict[str, dict[str, int]] = {}
    for r in result.summary.to_dict("records"):
        c = by.setdefault(str(r["custodian"]), {"matched": 0, "explained": 0, "open": 0})
        for k in c:
            c[k] += int(r[k])
    absent = result.no_statement
    exceptions = [
        {"kind": "breaks", "custodian": c, "open": n["open"], "reason": f"{n['open']} open break(s)"}
        for c, n in by.items()
        if n["open"]
    ]
    exceptions += [
        {"kind": "no_statement", "custodian": str(r["custodian"]), "account": str(r["account_code"])}
        for r in absent.to_dict("records")
    ]
    return {"custodians": len(names), "by_custodian": by, "breaks": len(result.break_ids),
            "no_statement": len(absent)}, exceptions  # fmt: skip


def scan_drift(ctx: DayContext, session: Session | None) -> Outcome:
    """7. Drift of every account against its model at the date; count those outside their band."""
    assert session is not None
    u = load_universe(session, ctx.day)
    accounts = load_accounts(session, u)
    rows = book_drift(u, accounts).summary()
    band = sum(1 for r in rows if "band breached" in r["triggers"])
    return {
        "accounts": len(rows),
        "outside_band": band,
        "with_triggers": sum(1 for r in rows if r["triggers"]),
        "suspended": sum(1 for r in rows if r.get("suspended")),
    }, []


STEPS: tuple[Step, ...] = (
    Step("load", load, transactional=False),
    Step("corporate_actions", book_corporate),
    Step("settle", settle),
    Step("revalue", revalue_book),
    Step("daily_values", store_values),
    Step("reconcile", reconcile_custodians),
    Step("drift", scan_drift),
)
"""The cycle's steps in the order they run."""
