"""The stored facts of the orders a TCA covers: top-level orders (lone account orders and blocks;
a block's children are analysed through their block) released to a broker in a date range and
final, with their fills, the OMS's market marks and the market prints of their fill interval."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.oms.marks import DONE
from engine.oms.marks_tables import MarketPrintRow, OrderMarks
from engine.oms.tables import Execution, Order
from engine.pricing.fx import FxTable
from engine.store.reference import Security
from engine.tca.measures import OrderFacts


def _fx(table: FxTable | None, ccy: str, base: str, on: date) -> Decimal | None:
    if ccy == base:
        return Decimal(1)
    if table is None:
        return None
    try:
        return table.rate(ccy, base, on)
    except Exception:  # no rate for that pair and date: the base amounts say "not known"
        return None


def _prints(
    s: Session, marked: list[tuple[Order, OrderMarks]]
) -> dict[tuple[str, int], tuple[list[datetime], list[tuple[Decimal, Decimal]]]]:
    """The stored prints around the marked orders' fill intervals, per (source, security), by time."""
    spans: dict[tuple[str, int], tuple[datetime, datetime]] = {}
    for o, m in marked:
        assert m.interval_from is not None and m.interval_to is not None
        key = (m.source, o.security_id)
        lo, hi = spans.get(key, (m.interval_from, m.interval_to))
        spans[key] = (min(lo, m.interval_from), max(hi, m.interval_to))
    out: dict[tuple[str, int], tuple[list[datetime], list[tuple[Decimal, Decimal]]]] = {}
    for (source, sec), (lo, hi) in spans.items():
        where = (MarketPrintRow.source == source, MarketPrintRow.security_id == sec)
        first = s.scalar(select(func.max(MarketPrintRow.at)).where(*where, MarketPrintRow.at <= lo))
        rows = s.execute(
            select(MarketPrintRow.at, MarketPrintRow.price, MarketPrintRow.quantity)
            .where(*where, MarketPrintRow.at >= (first or lo), MarketPrintRow.at <= hi)
            .order_by(MarketPrintRow.at)
        ).all()
        out[(source, sec)] = ([r[0] for r in rows], [(r[1], r[2]) for r in rows])
    return out


def load_facts(
    s: Session,
    start: date,
    end: date,
    base: str,
    broker: str | None = None,
    trader: str | None = None,
) -> list[OrderFacts]:
    """Facts of the final top-level orders sent to a broker from `start` to `end` (UTC days, both in)."""
    lo = datetime.combine(start, time(), UTC)
    hi = datetime.combine(end + timedelta(days=1), time(), UTC)
    q = (
        select(Order, Security.symbol, OrderMarks)
        .join(Security, Security.id == Order.security_id)
        .outerjoin(OrderMarks, OrderMarks.order_id == Order.id)
        .where(
            Order.parent_id.is_(None),
            Order.sent_at >= lo,
            Order.sent_at < hi,
            Order.status.in_(DONE),
        )
        .order_by(Order.sent_at, Order.id)
    )
    if broker:
        q = q.where(Order.broker == broker)
    if trader:
        q = q.where(Order.created_by == trader)
    rows = s.execute(q).all()
    ids = [o.id for o, _, _ in rows]
    fills: dict[int, list[tuple[Decimal, Decimal]]] = defaultdict(list)
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        for oid, qty, px in s.execute(
            select(Execution.order_id, Execution.last_qty, Execution.last_px)
            .where(Execution.order_id.in_(chunk), Execution.exec_type == "F", Execution.last_qty > 0)
            .order_by(Execution.id)
        ):
            fills[oid].append((qty, px))
    ccys = {o.currency for o, _, _ in rows}
    table = FxTable.load(s, start, end) if ccys - {base} else None
    tapes = _prints(s, [(o, m) for o, _, m in rows if m is not None and m.interval_from and m.interval_to])
    out = []
    for o, symbol, marks in rows:
        prints: list[tuple[Decimal, Decimal]] = []
        if marks is not None and marks.interval_from is not None and marks.interval_to is not None:
            ats, pxs = tapes.get((marks.source, o.security_id), ([], []))
            lo_i = max(bisect_right(ats, marks.interval_from) - 1, 0)  # the print current at the first fill
            hi_i = bisect_right(ats, marks.interval_to)
            prints = pxs[lo_i:hi_i]
        assert o.sent_at is not None
        day = o.trade_date or o.sent_at.astimezone(UTC).date()
        out.append(
            OrderFacts(
                order_id=o.id,
                cl_ord_id=o.cl_ord_id,
                broker=o.broker or "",
                trader=o.created_by or "",
                symbol=symbol,
                side="buy" if o.side == "buy" else "sell",
                quantity=o.quantity,
                currency=o.currency,
                status=o.status,
                trade_date=day,
                fills=fills.get(o.id, []),
                arrival=None if marks is None else marks.arrival_px,
                end_px=None if marks is None else marks.end_px,
                prints=prints,
                fx=_fx(table, o.currency, base, day),
            )
        )
    return out
