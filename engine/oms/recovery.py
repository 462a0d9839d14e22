"""Fills the broker reports in its CumQty and AvgPx but never sent us (a gap it filled instead of
resending its execution reports): booked once as a recovered fill, never twice.

The broker's CumQty and AvgPx are cumulative and authoritative (FIX 4.4). When a report says more
was filled than our fills add up to, the difference is one recovered fill of that quantity at the
price that makes our average equal the broker's: (AvgPx x CumQty - our notional) / missing qty.
A real report of a fill that arrives later (a resend after all) is recognised by its CumQty, which
our fills, recovered one included, already cover, and is not counted again.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.oms.messages import ExecReport
from engine.oms.tables import Execution, Order

PX = Decimal("0.000001")
SUFFIX = "/recovered"


def missing_fill(order: Order, report: ExecReport) -> tuple[Decimal, Decimal] | None:
    """(quantity, price) of what the report's CumQty says we lack, or None when nothing is missing
    or the broker's figures cannot be a fill (no average price, or a price at or below zero)."""
    if report.cum_qty <= order.cum_qty or report.avg_px <= 0:
        return None
    qty = report.cum_qty - order.cum_qty
    notional = report.avg_px * report.cum_qty - (order.avg_px or Decimal(0)) * order.cum_qty
    px = (notional / qty).quantize(PX)
    return (qty, px) if px > 0 else None


def recovered_report(report: ExecReport, qty: Decimal, px: Decimal) -> ExecReport:
    """The fill the broker did not send, under an ExecID of our own (unique per source report)."""
    return replace(
        report,
        exec_id=report.exec_id[: 64 - len(SUFFIX)] + SUFFIX,
        exec_type="F",
        last_qty=qty,
        last_px=px,
        text=f"recovered from the broker's CumQty {report.cum_qty} and AvgPx {report.avg_px} "
        f"(ExecID {report.exec_id}): fills not resent after a gap",
    )


def already_recovered(session: Session, order: Order, report: ExecReport) -> bool:
    """A fill report whose CumQty our fills already cover, on an order with a recovered fill:
    the late original of a quantity we recovered."""
    if report.exec_type != "F" or report.cum_qty > order.cum_qty:
        return False
    found = session.scalar(
        select(Execution.id)
        .where(Execution.order_id == order.id, Execution.exec_id.like(f"%{SUFFIX}"))
        .limit(1)
    )
    return found is not None


def execution_row(order_id: int, r: ExecReport) -> Execution:
    """The executions row of a report."""
    return Execution(
        order_id=order_id,
        broker=r.broker,
        exec_id=r.exec_id,
        exec_type=r.exec_type,
        ord_status=r.ord_status,
        last_qty=r.last_qty,
        last_px=r.last_px,
        cum_qty=r.cum_qty,
        leaves_qty=r.leaves_qty,
        avg_px=r.avg_px,
        transact_time=r.transact_time,
        received_at=r.received_at,
        text=r.text,
    )
