"""The ticket's preview check, reused at Send only when provably nothing it read has changed.

The ticket checks its orders as the trader types (engine.ticket.service.check). That preview runs
in one read snapshot, records every read it makes (engine.compliance.reads) and hashes what they
returned. At Send the OMS's create asks the checker again with the same order terms; the preview's
run answers only if, at that moment:

- the same user sends the same orders (account, security, side, quantity, type, limit; in order);
- the clock has not gone back, is on the same day in the same zone (the daily notional limits
  count from midnight) and the preview is at most `MAX_AGE` old;
- no order was created in the stretch the duplicate-order windows slid over since the preview
  (the only other reads that depend on the time), and
- every recorded read returns exactly the same rows (a price, an FX rate, a lot, cash, a rule or
  its assignment, a restricted-list entry, an order, the account's data: any change differs).

Anything else, or any error on the way, means no answer: create runs the full check. A preview is
answered at most once. The caller still checks permission and kill switches at Send.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.compliance.reads import Read, digest, recording
from engine.oms.tables import Order
from engine.ports import OrderIntent

if TYPE_CHECKING:  # the checker imports this module
    from engine.compliance.checker import CheckRun

KEEP = 32
"""Previews remembered (one per open ticket, a few desks); the oldest is dropped first."""
MAX_AGE = timedelta(minutes=10)
"""A preview older than this is never reused (a ticket left open over lunch is checked again)."""

Terms = tuple[tuple[str, str, str, Decimal, str, Decimal | None], ...]


@dataclass(frozen=True)
class Preview:
    """One preview check: when, what it read, the digest of the rows, and its verdicts."""

    now: datetime
    reads: tuple[Read, ...]
    digest: str
    run: CheckRun


_memo: OrderedDict[tuple[str, int, Terms], Preview] = OrderedDict()
_lock = threading.Lock()
stats = {"remembered": 0, "reused": 0, "checked_again": 0}
"""How often a preview was remembered, reused at Send, or not (tests and benchmarks read it)."""


def terms(intents: Sequence[OrderIntent]) -> Terms:
    """What the check reads of the orders (everything but their reference), in order."""
    return tuple(
        (
            o.account,
            o.symbol,
            str(o.side).lower(),
            Decimal(o.quantity),
            str(o.order_type).lower(),
            None if o.limit_price is None else Decimal(o.limit_price),
        )
        for o in intents
    )


def _snapshot(session: Session) -> bool:
    """Make the session's following reads one consistent snapshot; False if it cannot."""
    if session.new or session.dirty or session.deleted:
        return False
    if session.get_bind().dialect.name == "sqlite":
        conn = session.connection()
        if not conn.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
            conn.exec_driver_sql("BEGIN")  # WAL: the read snapshot holds until rollback
        # rows already in the identity map (the ticket read the as-of date) would be used without
        # a query, so unrecorded: expired, each is read again inside the snapshot and recorded
        session.expire_all()
        return True
    session.rollback()  # nothing written: end the transaction the ticket was sized in (expires all)
    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    return True


def preview_check(
    session: Session,
    intents: Sequence[OrderIntent],
    username: str,
    now: datetime,
    check: Callable[[], CheckRun],
) -> CheckRun:
    """`check()` (the full check of `intents` at `now`, nothing stored), remembered for a Send of
    the same orders."""
    if not _snapshot(session):
        return check()
    with recording(session) as log:
        run = check()
    try:
        d = digest(session, log)  # the same snapshot: the very rows the check read
    except Exception:  # a write among the reads (Writes) or a failed read: nothing remembered
        return run
    with _lock:
        _memo[(username, len(intents), terms(intents))] = Preview(now, tuple(log), d, run)
        while len(_memo) > KEEP:
            _memo.popitem(last=False)
        stats["remembered"] += 1
    return run


def _windows_slid_over_an_order(session: Session, p: Preview, now: datetime) -> bool:
    """Whether an order was created where a duplicate-order window no longer looks at Send."""
    windows = [float(r.params["window_seconds"]) for r in p.run.rules if r.template == "duplicate_order"]
    if not windows:
        return False
    start, end = p.now - timedelta(seconds=max(windows)), now - timedelta(seconds=min(windows))
    if end <= start:
        return False
    hit = session.scalars(
        select(Order.id).where(Order.created_at >= start, Order.created_at < end).limit(1)
    ).first()
    return hit is not None


def reuse(session: Session, intents: Sequence[OrderIntent], username: str, now: datetime) -> CheckRun | None:
    """The preview's run if it is provably the check of `intents` now (see the module); else None."""
    with _lock:  # a batch no preview has the size of (a rebalance) is not even keyed
        if not any(u == username and n == len(intents) for u, n, _t in _memo):
            return None
    key = (username, len(intents), terms(intents))
    with _lock:
        p = _memo.pop(key, None)
    if p is None:
        return None
    same_day = now.utcoffset() == p.now.utcoffset() and now.date() == p.now.date()
    ok = (
        same_day
        and p.now <= now <= p.now + MAX_AGE
        and not _windows_slid_over_an_order(session, p, now)
        and digest(session, p.reads) == p.digest
    )
    with _lock:
        stats["reused" if ok else "checked_again"] += 1
    return p.run if ok else None


def forget() -> None:
    """Drop every remembered preview (tests)."""
    with _lock:
        _memo.clear()
