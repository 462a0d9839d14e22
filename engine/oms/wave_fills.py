"""A wave's acks and fills of lone account orders in bulk: Core statements for every report waiting.

The engine thread applies what is waiting in one transaction (engine.oms.executions.apply_batch).
The reports that need nothing but the ordinary path - a New ack, or the first fill, of a lone
account order, whose edge the state table has and whose quantities agree with the broker's - are
applied here together: one INSERT of their executions rows, one of their order_events rows (the
audit hook chains each, engine.oms.audit_hook), one UPDATE of the orders (versions checked: another
desk's change first is ConcurrentChange, retried), and the finished orders' allocations and
bookings in bulk (engine.oms.booking.Booking.allocate_lone). Everything else - duplicates, unknown
ClOrdIDs, a later fill (CumQty from the stored fills), cancels and replaces, status answers,
recoveries, blocks, any mismatch to alert - goes one by one as before, and so does every later
report of an order once one of its reports did. A failure of the bulk statements other than a
transient one rolls back their savepoint and leaves all its reports to the one-by-one path.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, insert, select

from engine.errors import InvalidTransition
from engine.oms.booking import Booking, LoneFill
from engine.oms.context import OmsContext, Tx
from engine.oms.events import OrderChanged
from engine.oms.journal import ORDER_MACHINE, Step, move_versioned
from engine.oms.messages import ExecReport, Inbound
from engine.oms.retry import is_transient
from engine.oms.status import FIX_ORD_STATUS, OrderStatus
from engine.oms.tables import ClientOrderId, Execution, Order
from engine.oms.transitions import Incoming, event_of

log = logging.getLogger("engine.oms.service")
S = OrderStatus
I = Incoming  # noqa: E741
PX = Decimal("0.000001")
BULK_TO = frozenset({S.NEW, S.PARTIALLY_FILLED, S.FILLED})
"""The statuses a bulk step may reach; any other target goes one by one."""

_COLUMNS = (
    "id", "cl_ord_id", "status", "quantity", "cum_qty", "avg_px", "leaves_qty", "broker_order_id",
    "version", "account_id", "parent_id", "security_id", "side", "lot_instructions", "prev_status",
)  # fmt: skip


@dataclass
class _Order:
    """A lone order as the wave moves it (read with Core, written with Core)."""

    row: dict[str, Any]
    version: int
    final_report: ExecReport | None = None

    def __getattr__(self, name: str) -> Any:  # the state table's Computed targets read attributes
        try:
            return self.row[name]
        except KeyError:
            raise AttributeError(name) from None


_Step = tuple[_Order, ExecReport, str, str, str, dict[str, Any]]
"""An order, the report that moves it, its status before and after, the event and its detail."""


def _shape(m: Inbound) -> bool:
    """A report that may go in bulk by its own content (the order decides the rest)."""
    return (
        isinstance(m, ExecReport)
        and m.exec_type in ("0", "F")
        and not m.orig_cl_ord_id
        and not m.poss_dup
        and not m.poss_resend
    )


class WaveFills:
    """Applies a wave's ordinary acks and fills with bulk statements; returns the rest."""

    def __init__(self, ctx: OmsContext, booking: Booking) -> None:
        self.ctx = ctx
        self.booking = booking
        self.applied = 0
        """Reports applied in bulk so far."""

    def apply(self, tx: Tx, messages: Sequence[Inbound]) -> list[Inbound]:
        """Apply the reports that can go in bulk; the others, in arrival order, for the caller."""
        candidates = [m for m in messages if isinstance(m, ExecReport) and _shape(m)]
        if not candidates:
            return list(messages)
        s = tx.session
        keys = {
            k
            for m in messages
            for k in (getattr(m, "cl_ord_id", None), getattr(m, "orig_cl_ord_id", None))
            if k
        }
        links = dict(
            s.execute(
                select(ClientOrderId.cl_ord_id, ClientOrderId.order_id).where(
                    ClientOrderId.cl_ord_id.in_(keys)
                )
            ).all()
        )
        t = cast(Table, Order.__table__)
        orders = {
            r.id: _Order(dict(r._mapping), r.version)
            for r in s.execute(select(*(t.c[c] for c in _COLUMNS)).where(t.c.id.in_(set(links.values()))))
        }
        seen = {
            (str(b), str(e))
            for b, e in s.execute(
                select(Execution.broker, Execution.exec_id).where(
                    Execution.exec_id.in_({m.exec_id for m in candidates})
                )
            )
        }
        slow_orders: set[int] = set()
        bulk: set[int] = set()  # id() of the messages applied here
        steps: list[_Step] = []
        for m in messages:
            oids = {
                links[k]
                for k in (getattr(m, "cl_ord_id", None), getattr(m, "orig_cl_ord_id", None))
                if k in links
            }
            if not isinstance(m, ExecReport) or not _shape(m) or len(oids) != 1:
                slow_orders |= oids
                continue
            oid = oids.pop()
            o = orders.get(oid)
            if o is None or oid in slow_orders or (m.broker, m.exec_id) in seen:
                slow_orders.add(oid)
                continue
            try:
                step = self._step(o, m)
            except Exception:  # a fault in one order's step: that order goes one by one
                log.exception("report %s planned one by one", m.exec_id)
                step = None
            if step is None:
                slow_orders.add(oid)
                continue
            seen.add((m.broker, m.exec_id))
            bulk.add(id(m))
            steps.append((o, m, *step))
        if not steps:
            return list(messages)
        try:
            with s.begin_nested():
                self._write(tx, steps)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.exception("a wave's bulk statements failed; its %d report(s) go one by one", len(steps))
            return list(messages)
        self.applied += len(steps)
        for o, _m, _before, after, _event, _detail in steps:
            tx.events.append(
                OrderChanged(
                    order_id=o.row["id"], cl_ord_id=o.row["cl_ord_id"], status=after,
                    cum_qty=o.row["cum_qty"], leaves_qty=o.row["leaves_qty"], avg_px=o.row["avg_px"],
                )
            )  # fmt: skip
        return [m for m in messages if id(m) not in bulk]

    def _step(self, o: _Order, r: ExecReport) -> tuple[str, str, str, dict[str, Any]] | None:
        """Move `o` by `r` in memory: (status before, after, event, detail), or None: one by one."""
        row = o.row
        if row["account_id"] is None or row["parent_id"] is not None or row["cl_ord_id"] != r.cl_ord_id:
            return None
        cum, avg = Decimal(row["cum_qty"]), Decimal(row["avg_px"])
        if r.exec_type == "F":
            if r.last_qty <= 0 or r.last_px <= 0 or cum != 0:
                return None  # a bad fill is alerted, a later fill sums the stored ones: one by one
            cum = r.last_qty.quantize(PX)  # as the stored fills add up (Quantity: 6 decimals)
            avg = (cum * r.last_px.quantize(PX) / cum).quantize(PX)
            incoming = I.FULL_FILL if r.leaves_qty == 0 or r.ord_status == "2" else I.PARTIAL_FILL
        else:
            incoming = I.NEW
        quantity = Decimal(row["quantity"])
        if cum > quantity or r.cum_qty != cum or (cum > 0 and abs(r.avg_px - avg) > Decimal("0.0001")):
            return None  # an overfill or a mismatch is alerted one by one
        event = event_of(incoming)
        facts = {"broker_status": FIX_ORD_STATUS.get(r.ord_status), "reissue": False}
        try:
            new = S(ORDER_MACHINE.next(row["status"], event, o, facts))
        except InvalidTransition:
            return None  # alerted and recorded as ignored one by one
        if new not in BULK_TO:
            return None
        leaves = Decimal(0) if new == S.FILLED else max(quantity - cum, Decimal(0))
        if new != S.FILLED and cum + leaves != quantity:
            return None
        detail: dict[str, Any] = {
            "exec_id": r.exec_id, "exec_type": r.exec_type, "ord_status": r.ord_status,
            "last_qty": str(r.last_qty), "last_px": str(r.last_px), "poss_dup": r.poss_dup,
        }  # fmt: skip
        if r.text:
            detail["text"] = r.text
        before = str(row["status"])
        row.update(status=str(new), cum_qty=cum, avg_px=avg, leaves_qty=leaves, prev_status=None)
        if r.broker_order_id and not row["broker_order_id"]:
            row["broker_order_id"] = r.broker_order_id
        if new == S.FILLED:
            o.final_report = r
        return before, str(new), event, detail

    def _write(self, tx: Tx, steps: list[_Step]) -> None:
        """The bulk statements of a wave's steps (inside the caller's savepoint)."""
        s = tx.session
        s.execute(
            insert(cast(Table, Execution.__table__)), [_execution(o.row["id"], m) for o, m, *_ in steps]
        )
        moved = list({id(o): o for o, *_ in steps}.values())
        finished = [LoneFill(o.row, o.final_report) for o in moved if o.final_report is not None]
        dates = self.booking.allocate_lone(tx, finished) if finished else {}
        journal = [
            Step(
                o.row["id"],
                before,
                event,
                after,
                detail,
                o,
                {"broker_status": FIX_ORD_STATUS.get(m.ord_status), "reissue": False},
            )
            for o, m, before, after, event, detail in steps
        ]
        rows = []
        for o in moved:
            r = o.row
            row = {
                k: r[k]
                for k in ("id", "status", "cum_qty", "avg_px", "leaves_qty", "prev_status", "broker_order_id")
            }
            row["version"] = o.version
            if r["id"] in dates:
                row["trade_date"] = dates[r["id"]]
            rows.append(row)
        move_versioned(s, journal, rows, self.ctx.username, datetime.now(UTC))


def _execution(order_id: int, r: ExecReport) -> dict[str, Any]:
    """The executions row of a report, as engine.oms.recovery.execution_row builds it."""
    return {
        "order_id": order_id, "broker": r.broker, "exec_id": r.exec_id, "exec_type": r.exec_type,
        "ord_status": r.ord_status, "last_qty": r.last_qty, "last_px": r.last_px, "cum_qty": r.cum_qty,
        "leaves_qty": r.leaves_qty, "avg_px": r.avg_px, "transact_time": r.transact_time,
        "received_at": r.received_at, "text": r.text,
    }  # fmt: skip
