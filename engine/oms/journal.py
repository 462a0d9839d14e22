"""The order state machine and its journal: every status change appends its order_events row.

`ORDER_MACHINE` (engine.state) is the one writer of an order's status: `fire` takes an edge of
the table (engine.oms.transitions) and appends the row in the same session; the audit hook
(engine.oms.audit_hook) chains every row into the tamper-evident log before the commit.
`move_in_bulk` is the Core path for a block's children (tens of thousands in a rebalance): each
row's edge is checked with `ORDER_MACHINE.next` before one UPDATE and one INSERT of event rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, insert, update
from sqlalchemy.orm import Session

from engine.errors import InvalidTransition
from engine.oms import audit_hook  # noqa: F401  (every order event also goes to the audit chain)
from engine.oms.status import OrderStatus
from engine.oms.tables import Order, OrderEvent
from engine.oms.transitions import machine_table
from engine.shared.errors import ConcurrentChange
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


@dataclass(frozen=True)
class Step:
    """One order's move for `move_versioned`: the edge `event` from `before` to `after` (checked
    against the table, `obj` and `facts` for its Computed targets) and its order_events row."""

    order_id: int
    before: str
    event: str
    after: str
    detail: Mapping[str, Any] | None
    obj: Any = None
    facts: Mapping[str, Any] | None = None


def move_versioned(
    session: Session, steps: Sequence[Step], rows: Sequence[Mapping[str, Any]], actor: str, at: datetime
) -> None:
    """The Core path of a wave's lone orders (engine.oms.wave_route, engine.oms.wave_fills): every
    step's edge is checked with ORDER_MACHINE.next (InvalidTransition before anything is written),
    then one UPDATE per set of columns of `rows` (each: id, the version it was read at, status and
    the other columns to set; its status must be its last step's), matching only that version and
    bumping it as the ORM does: a row another desk changed first fails the wave with
    ConcurrentChange (retried). One INSERT of the steps' order_events rows (audited by the hook)."""
    last: dict[int, str] = {}
    events = []
    for st in steps:
        after = ORDER_MACHINE.next(st.before, st.event, st.obj, st.facts)
        if after != st.after:
            raise InvalidTransition("order", st.before, f"{st.event} to {st.after} (the table says {after})")
        last[st.order_id] = after
        events.append(
            {"order_id": st.order_id, "at": at, "kind": st.event, "status_from": st.before, "status_to": after,
             "username": actor, "detail": dict(st.detail) if st.detail else None}
        )  # fmt: skip
    t = cast(Table, Order.__table__)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        if last.get(r["id"]) != r["status"]:
            raise InvalidTransition("order", str(last.get(r["id"])), f"set to {r['status']} without its step")
        cols = tuple(sorted(k for k in r if k not in ("id", "version")))
        groups.setdefault(cols, []).append(
            {"_id": r["id"], "_v": r["version"], **{f"v_{k}": r[k] for k in cols}}
        )
    matched = 0
    for cols, params in groups.items():
        stmt = (
            update(t)
            .where(and_(t.c.id == bindparam("_id"), t.c.version == bindparam("_v")))
            .values({k: bindparam(f"v_{k}") for k in cols} | {"version": t.c.version + 1, "updated_at": at})
        )
        matched += session.execute(stmt, params).rowcount  # type: ignore[attr-defined]
    if session.get_bind().dialect.supports_sane_multi_rowcount and matched != len(rows):
        raise ConcurrentChange("an order", "changed at another desk")
    if events:
        session.execute(insert(cast(Table, OrderEvent.__table__)), events)
