"""The market marks the OMS takes for transaction cost analysis, through a MarketDataPort.

- At release to the broker (the first hand-over of an order to its FIX session, `stamp_sent`):
  the arrival price, the port's last print at that moment.
- Once an order is final: the interval from its first to its last fill (the broker's
  TransactTime), the port's prints over it (stored in market_prints, so the interval VWAP is the
  market's, not our fills'), and the last print at the order's end (the opportunity cost of a
  cancelled or expired remainder).

A port that fails or knows no price never stops an order: the mark is stored without a price and
the analysis says so. `NoMarketData` is the port of an OMS wired without market data.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.oms.marks_tables import MarketPrintRow, OrderMarks
from engine.oms.status import FINAL
from engine.oms.tables import Execution, Order
from engine.ports import MarketDataPort, MarketPrint
from engine.store.reference import Security

log = logging.getLogger(__name__)
DONE = frozenset({*FINAL, "done_for_day"})
MAX_PRINTS = 20_000
"""An interval with more prints than this is sampled at a regular stride (docs/oms.md, TCA)."""


class NoMarketData:
    """The port of an OMS without market data: no arrival price, no prints."""

    source = "none"

    def last(self, symbol: str, at: datetime) -> MarketPrint | None:
        return None

    def prints(self, symbol: str, start: datetime, end: datetime) -> list[MarketPrint]:
        return []


def _last(port: MarketDataPort, symbol: str, at: datetime) -> MarketPrint | None:
    try:
        return port.last(symbol, at)
    except Exception:  # market data never stops an order; the analysis shows the gap
        log.exception("market data: no last print for %s at %s", symbol, at)
        return None


class Sent(Protocol):
    """What the arrival mark reads of an order just sent (an Order, or a row of its columns)."""

    @property
    def id(self) -> int: ...
    @property
    def security_id(self) -> int: ...


def mark_arrivals(s: Session, port: MarketDataPort, orders: Iterable[Sent], now: datetime) -> int:
    """Store the arrival price of orders just handed to their broker for the first time."""
    orders = list(orders)
    if not orders:
        return 0
    have = set(s.scalars(select(OrderMarks.order_id).where(OrderMarks.order_id.in_([o.id for o in orders]))))
    todo = [o for o in orders if o.id not in have]
    ids = {o.security_id for o in todo}
    symbols = {
        i: sym for i, sym in s.execute(select(Security.id, Security.symbol).where(Security.id.in_(ids)))
    }
    for o in todo:
        p = _last(port, symbols[o.security_id], now)
        s.add(
            OrderMarks(order_id=o.id, source=port.source, arrival_at=now, arrival_px=p.price if p else None)
        )
    return len(todo)


def _when(e: Execution) -> datetime:
    return e.transact_time or e.received_at


def _sampled(prints: list[MarketPrint]) -> list[MarketPrint]:
    if len(prints) <= MAX_PRINTS:
        return prints
    stride = -(-len(prints) // MAX_PRINTS)
    return prints[::stride]


def store_prints(s: Session, source: str, security_id: int, prints: list[MarketPrint]) -> int:
    """Add the prints not yet stored (one row per source, security and instant)."""
    if not prints:
        return 0
    have = set(
        s.scalars(
            select(MarketPrintRow.at).where(
                MarketPrintRow.source == source,
                MarketPrintRow.security_id == security_id,
                MarketPrintRow.at >= prints[0].at,
                MarketPrintRow.at <= prints[-1].at,
            )
        )
    )
    new = [p for p in prints if p.at not in have]
    s.add_all(
        MarketPrintRow(source=source, security_id=security_id, at=p.at, price=p.price, quantity=p.quantity)
        for p in new
    )
    return len(new)


def capture_intervals(s: Session, port: MarketDataPort, now: datetime, limit: int = 200) -> int:
    """Take the fill interval, its prints and the end price of up to `limit` final orders."""
    rows = s.execute(
        select(OrderMarks, Order, Security.symbol)
        .join(Order, Order.id == OrderMarks.order_id)
        .join(Security, Security.id == Order.security_id)
        .where(OrderMarks.captured_at.is_(None), Order.status.in_(DONE))
        .order_by(OrderMarks.order_id)
        .limit(limit)
    ).all()
    by_order: dict[int, list[Execution]] = defaultdict(list)
    if rows:
        q = select(Execution).where(Execution.order_id.in_([o.id for _, o, _ in rows])).order_by(Execution.id)
        for e in s.scalars(q):
            by_order[e.order_id].append(e)
    pending: dict[tuple[str, int], list[MarketPrint]] = defaultdict(list)
    for marks, o, symbol in rows:
        reports = by_order[o.id]
        fills = [e for e in reports if e.exec_type == "F" and e.last_qty > 0]
        if fills:
            marks.interval_from = min(_when(e) for e in fills)
            marks.interval_to = max(_when(e) for e in fills)
            try:
                prints = _sampled(port.prints(symbol, marks.interval_from, marks.interval_to))
            except Exception:
                log.exception("market data: no prints for %s", symbol)
                prints = []
            pending[(marks.source, o.security_id)].extend(prints)
            marks.prints = len(prints)
        if reports and sum((e.last_qty for e in fills), start=type(o.quantity)(0)) < o.quantity:
            marks.end_at = max(_when(e) for e in reports)
            p = _last(port, symbol, marks.end_at)
            marks.end_px = p.price if p else None
        marks.captured_at = now
    with s.no_autoflush:
        for (source, security_id), prints in pending.items():
            store_prints(
                s, source, security_id, sorted({p.at: p for p in prints}.values(), key=lambda p: p.at)
            )
    return len(rows)
