"""Drive the SIMULATED demo book through its history, date by date, from files and the day cycle.

For each real close of the plan (engine.demo.history_plan): on a quarter's first weekday the
rebalance is filled and booked as the trader (engine.demo.history_trades); the custodians'
activity files and the vendor's corporate-action file for the date are written into that date's
inbox (engine.demo.history_files); then `close_day` runs as the operations user, which loads
the files through the same readers as any real file, books the actions due, settles, revalues
and stores the day's values and flows. A file the readers refuse, or an action that cannot be
booked, stops the build (HistoryError): the demo never skips what it meant to book. The weekdays
between two real closes are closed in bulk (engine.demo.history_values).
"""

from __future__ import annotations

import multiprocessing
import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.guard import require
from engine.access.permissions import Permission
from engine.audit.chain import record
from engine.daycycle.cycle import close_day
from engine.daycycle.inbox import InboxKind
from engine.daycycle.steps import STEPS, DayContext, Outcome, Step
from engine.daycycle.values import Valuation
from engine.demo.history_events import actions, cash_lines
from engine.demo.history_files import write_actions, write_activity
from engine.demo.history_plan import HistoryPlan
from engine.demo.history_trades import book_fills, fx_lines, rebalance_trades
from engine.demo.history_values import (
    Market,
    QuietValues,
    Snapshot,
    init_worker,
    insert_quiet_values,
    quiet_values_in_worker,
    record_quiet_days,
    value_days,
)
from engine.errors import WorkstationError
from engine.store.accounts import Account
from engine.store.database import Database

OPS_USER, TRADER = "otto.ops", "tara.trader"  # demo users (engine.access.signin.DEMO_USERS)
HISTORY_STEPS = tuple(s for s in STEPS if s.name != "drift")
"""A past date's close: every step but the drift scan (a desk's view of today; the last date runs it)."""


class HistoryError(WorkstationError):
    """The history could not be driven: a file refused or an action not booked (says which)."""


@dataclass
class HistoryResult:
    """What the history booked: counts for the demo summary."""

    closes: int = 0
    quiet_days: int = 0
    trades: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, n: int) -> None:
        self.counts[key] = self.counts.get(key, 0) + int(n)


def _check(day: date, steps: list[dict[str, Any]]) -> None:
    for st in steps:
        if st["status"] != "done" or (st["name"] in ("load", "corporate_actions") and st["exceptions"]):
            raise HistoryError(f"simulated history, close of {day}: step {st['name']} {st['status']}: "
                               f"{str(st['exceptions'])[:2000]}")  # fmt: skip


def _keeping(steps: Sequence[Step], kept: dict[date, Valuation]) -> tuple[Step, ...]:
    """`steps` with the revaluation's result kept per date: the lots it read are the close's
    (no step after it books anything), so the snapshot after the close need not read them again."""

    def keep(step: Step) -> Step:
        def run(ctx: DayContext, session: Session | None) -> Outcome:
            out = step.run(ctx, session)
            if ctx.valuation is not None:
                kept[ctx.day] = ctx.valuation
            return out

        return replace(step, run=run)

    later = [s.name for s in steps][[s.name for s in steps].index("revalue") + 1 :]
    assert set(later) <= {"daily_values", "reconcile", "drift"}, "a step after revalue that books"
    return tuple(keep(s) if s.name == "revalue" else s for s in steps)


def store_pending(database: Database, pending: list[Future[QuietValues]]) -> None:
    """Store the quiet days' values the worker computed, in the order they were asked for (before
    the next close: its flows count from the last date with stored values)."""
    while pending:
        values = pending.pop(0).result()
        with database.transaction() as s:
            insert_quiet_values(s, values)


def run_history(
    database: Database,
    plan: HistoryPlan,
    market: Market,
    weights: dict[str, dict[str, float]],
    kinds: Sequence[InboxKind],
    progress: Callable[[str], None] = lambda _line: None,
    workdir: Path | None = None,
    observe: Callable[[date], None] | None = None,
) -> HistoryResult:
    """Drive the book from the plan's start to its end (see the module docstring). `observe` is
    called with each real close's date once it is closed (tests look at the book then).

    The quiet days' values are computed in one worker process (they need only the snapshot and
    the market) while this process books the next quarter's rebalance; their day runs are
    recorded here at once (the audit in the same order), the values stored before the next close."""
    out = HistoryResult()
    own = workdir is None
    root = Path(tempfile.mkdtemp(prefix="demo-history-")) if workdir is None else workdir
    pool = ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("spawn"), initializer=init_worker, initargs=(market,)
    )
    pending: list[Future[QuietValues]] = []
    try:
        with database.session() as s:
            accts = pd.DataFrame(
                s.execute(select(Account.id, Account.code, Account.custodian, Account.base_currency)
                          .order_by(Account.id)).all(),
                columns=["id", "code", "custodian", "base_currency"],
            ).set_index("id")  # fmt: skip
            snap = Snapshot.take(s)
        sym_of = {int(sid): sym for sym, sid in market.symbols.items()}
        currency = market.currency
        weekdays = [d.date() for d in plan.weekdays()]
        for i, day in enumerate(plan.closes):
            mv, cash = value_days(snap, market, pd.DatetimeIndex([pd.Timestamp(day)]))
            sized = accts.assign(value=mv[0] + cash[0], cash=cash[0])
            lines = cash_lines(plan, day, sized)
            if day in plan.quarters:
                closes_today = market.closes_on(day)
                with database.transaction() as s:
                    require(s, TRADER, Permission.ORDERS_ROUTE)
                    fills = rebalance_trades(s, day, snap, market, weights, closes_today, sized["value"],
                                             plan.event_symbols(day))  # fmt: skip
                    book_fills(s, fills)
                    fx = fx_lines(s, day, market, accts)
                    record(s, TRADER, "demo.history.rebalance", "day", day.isoformat(),
                           after={"fills": len(fills), "fx_conversions": len(fx)},
                           reason="SIMULATED quarterly rebalance filled at the simulated close")  # fmt: skip
                out.trades += len(fills)
                lines = pd.concat([lines, fx], ignore_index=True) if len(fx) else lines
            inbox = root / day.isoformat()
            out.add("activity_files", write_activity(inbox, day, lines))
            out.add("activity_lines", len(lines))
            prev = weekdays[max(0, weekdays.index(day) - 1)] if day in weekdays else day
            last = {sym_of[int(k)]: float(v) for k, v in market.prices.loc[pd.Timestamp(prev)].items()}
            acts = actions(plan, day, last, currency)
            out.add("corporate_actions", len(acts))
            write_actions(inbox, day, acts)
            steps = STEPS if i == len(plan.closes) - 1 else HISTORY_STEPS
            kept: dict[date, Valuation] = {}
            store_pending(database, pending)
            result = close_day(database, day, OPS_USER, inbox=inbox, kinds=kinds, steps=_keeping(steps, kept))
            _check(day, result.steps)
            out.closes += 1
            if observe is not None:
                observe(day)
            nxt = plan.closes[i + 1] if i + 1 < len(plan.closes) else None
            quiet = [d for d in weekdays if d > day and (nxt is None or d < nxt)]
            if quiet or nxt is not None:  # after the last close with nothing after it, none is needed
                valued = kept.get(day)
                with database.session() as s:
                    if valued is not None and valued.lot_frame is not None:
                        snap = Snapshot.of_lots(s, valued.lot_frame)
                    else:
                        snap = Snapshot.take(s)
            if quiet:
                pending.append(pool.submit(quiet_values_in_worker, snap.portable(), quiet))
                with database.transaction() as s:
                    record_quiet_days(s, quiet, len(snap.accounts), OPS_USER)
                out.quiet_days += len(quiet)
            progress(
                f"history {day}: {len(lines)} activity lines, {len(acts)} actions, {len(quiet)} quiet days"
            )
            if own:
                shutil.rmtree(inbox, ignore_errors=True)
        store_pending(database, pending)
    finally:
        pool.shutdown(cancel_futures=True)
        if own:
            shutil.rmtree(root, ignore_errors=True)
    return out
