"""The order state machine and its journal: every status change appends its order_events row.

`ORDER_MACHINE` (engine.state) is the one writer of an order's status: `fire` takes an edge of
the table (engine.oms.transitions) and appends the row in the same session; the audit hook
(engine.oms.audit_hook) chains every row into the tamper-evident log before the commit.
`move_in_bulk` is the Core path for a block's children (tens of thousands in a rebalance): each
row's edge is checked with `ORDER_MACHINE.next` before one UPDATE and one INSERT of event rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session

from engine.errors import InvalidTransition
from engine.oms import audit_hook  # noqa: F401  (every order event also goes to the audit chain)
from engine.oms.status import OrderStatus
from engine.oms.tables import Order, OrderEvent
from engine.oms.transitions import machine_table
from engine.state.machine import StateMachine, Transition


def _append_event(session: Session, obj: Any, change: Transition) -> None:
    """The order_events row of one transition (its audit entry follows from the hook)."""
    session.add(
        OrderEvent(
            order_id=obj.id,
            kind=change.event,
            status_from=change.before,
            status_to=change.after,
            username=change.actor,
            detail=dict(change.detail) if change.detail else None,
        )
    )


ORDER_MACHINE = StateMachine(
    name="order",
    table=machine_table(),
    journal=_append_event,
    initial=frozenset({OrderStatus.PENDING_APPROVAL, OrderStatus.RELEASED}),
)
"""Orders are born pending_approval (then checked: `created`) or, for blocks, released."""


def move_in_bulk(
    session: Session,
    rows: Sequence[Any],
    event: str,
    kind: str,
    username: str,
    now: datetime,
    values: Mapping[int, Mapping[str, Any]],
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Move many orders with Core statements: `rows` have id and status, `values[id]` the columns
    to set, "status" among them: the target, checked as the edge `event` from the row's status
    (InvalidTransition before anything is written). One order_events row each, `kind`."""
    t = cast(Table, Order.__table__)
    params = []
    events = []
    for r in rows:
        v = dict(values[r.id])
        target = str(v.pop("status"))
        after = ORDER_MACHINE.next(r.status, event, None, {"status": target})
        if after != target:
            raise InvalidTransition("order", str(r.status), f"{event} to {target} (the table says {after})")
        params.append({"_id": r.id, "v_status": after, **{f"v_{k}": x for k, x in v.items()}})
        extra = {k: str(x) for k, x in v.items()}
        events.append(
            {
                "order_id": r.id,
                "at": now,
                "kind": kind,
                "status_from": r.status,
                "status_to": after,
                "username": username,
                "detail": {**(detail or {}), **extra} or None,
            }
        )
    if not params:
        return
    keys = [k[2:] for k in params[0] if k.startswith("v_")]
    stmt = (
        update(t)
        .where(t.c.id == bindparam("_id"))
        .values({k: bindparam(f"v_{k}") for k in keys} | {"version": t.c.version + 1, "updated_at": now})
    )
    session.execute(stmt, params)
    session.execute(insert(cast(Table, OrderEvent.__table__)), events)
