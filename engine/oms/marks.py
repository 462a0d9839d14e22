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
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, insert, select, update
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
    rows = []
    for o in todo:
        p = _last(port, symbols[o.security_id], now)
        rows.append(
            {"order_id": o.id, "source": port.source, "arrival_at": now, "arrival_px": p.price if p else None}
        )
    if rows:  # one INSERT for a wave's orders (Core: no ORM object per order)
        s.execute(insert(cast(Table, OrderMarks.__table__)), rows)
    return len(todo)


def _when(e: Any) -> datetime:
    return cast(datetime, e.transact_time or e.received_at)


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
    """Take the fill interval, its prints and the end price of up to `limit` final orders. Core
    reads and one UPDATE of the marks (a wave's orders finish together: no ORM object per order)."""
    m, t = cast(Table, OrderMarks.__table__), cast(Table, Order.__table__)
    rows = s.execute(
        select(m.c.order_id, m.c.source, t.c.quantity, t.c.security_id, Security.symbol)
        .join(t, t.c.id == m.c.order_id)
        .join(Security, Security.id == t.c.security_id)
        .where(m.c.captured_at.is_(None), t.c.status.in_(DONE))
        .order_by(m.c.order_id)
        .limit(limit)
    ).all()
    if not rows:
        return 0
    e = cast(Table, Execution.__table__)
    by_order: dict[int, list[Any]] = defaultdict(list)
    q = select(e.c.order_id, e.c.exec_type, e.c.last_qty, e.c.transact_time, e.c.received_at)
    for x in s.execute(q.where(e.c.order_id.in_([r.order_id for r in rows])).order_by(e.c.id)):
        by_order[x.order_id].append(x)
    pending: dict[tuple[str, int], list[MarketPrint]] = defaultdict(list)
    updates = []
    for r in rows:
        v: dict[str, Any] = {
            "interval_from": None,
            "interval_to": None,
            "prints": None,
            "end_at": None,
            "end_px": None,
        }
        reports = by_order[r.order_id]
        fills = [x for x in reports if x.exec_type == "F" and x.last_qty > 0]
        if fills:
            v["interval_from"] = min(_when(x) for x in fills)
            v["interval_to"] = max(_when(x) for x in fills)
            try:
                prints = _sampled(port.prints(r.symbol, v["interval_from"], v["interval_to"]))
            except Exception:
                log.exception("market data: no prints for %s", r.symbol)
                prints = []
            pending[(r.source, r.security_id)].extend(prints)
            v["prints"] = len(prints)
        if reports and sum((x.last_qty for x in fills), start=type(r.quantity)(0)) < r.quantity:
            v["end_at"] = max(_when(x) for x in reports)
            p = _last(port, r.symbol, v["end_at"])
            v["end_px"] = p.price if p else None
        updates.append({"_id": r.order_id, **{f"v_{k}": x for k, x in v.items()}})
    cols = ("interval_from", "interval_to", "prints", "end_at", "end_px")
    stmt = (
        update(m)
        .where(m.c.order_id == bindparam("_id"))
        .values({k: bindparam(f"v_{k}") for k in cols} | {"captured_at": now})
    )
    s.execute(stmt, updates)
    with s.no_autoflush:
        for (source, security_id), prints in pending.items():
            store_prints(
                s, source, security_id, sorted({p.at: p for p in prints}.values(), key=lambda p: p.at)
            )
    return len(rows)
