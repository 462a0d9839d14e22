"""The route of a wave's ordinary lone orders as Core statements: read, checked, moved in bulk.

An ordinary lone order is a released account order with its broker, whose account and trader no
kill switch stops and whose market is open (or the trader routes outside hours). Each is moved
`released -> pending_new` on the state table's `submit` edge with one UPDATE for all (versions
checked: another desk's change first is ConcurrentChange, retried) and one INSERT of their
order_events rows (each chained into the audit log by engine.oms.audit_hook). Every other order -
held for its market, refused by a kill switch, without a broker, sent to another broker, a
block - takes the one-by-one path of engine.oms.router, which alerts and records why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row

from engine.oms.context import OmsContext, Tx
from engine.oms.events import OrderChanged
from engine.oms.journal import Step, move_versioned
from engine.oms.status import OrderStatus
from engine.oms.transitions import Incoming

S = OrderStatus


def ordinary(
    r: Row[Any],
    code: str | None,
    allowed: set[str],
    stopped: Mapping[str, str],
    market_open: bool,
    broker: str | None,
) -> bool:
    """Whether released order `r` goes in bulk (else one by one, where it is alerted or held).
    `market_open`: its market is open now, or the trader routes outside hours."""
    return (
        r.account_id is not None
        and bool(r.broker)
        and (broker is None or broker == r.broker)
        and code is not None
        and code in allowed
        and r.created_by not in stopped
        and market_open
    )


def submit(
    ctx: OmsContext, tx: Tx, rows: Sequence[Row[Any]], mics: Mapping[int, str], outside_hours: bool
) -> None:
    """Move `rows` (released lone orders, read with Core) to pending_new on the `submit` edge
    (engine.oms.journal.move_versioned: versions checked, one UPDATE, one INSERT of events);
    OrderChanged for each after the commit."""
    if not rows:
        return
    steps = [
        Step(r.id, str(r.status), str(Incoming.SUBMIT), str(S.PENDING_NEW),
             {"market": mics[r.id], "outside_hours": outside_hours}, r)
        for r in rows
    ]  # fmt: skip
    moved = [
        {"id": r.id, "version": r.version, "status": str(S.PENDING_NEW), "release_at": None} for r in rows
    ]
    move_versioned(tx.session, steps, moved, ctx.username, datetime.now(UTC))
    for r in rows:
        tx.events.append(
            OrderChanged(order_id=r.id, cl_ord_id=r.cl_ord_id, status=str(S.PENDING_NEW), cum_qty=r.cum_qty,
                         leaves_qty=r.leaves_qty, avg_px=r.avg_px)
        )  # fmt: skip
