"""What a book's OMS and accounting wrote, comparable across books: the wave path against one by one.

Rows of orders, order events, executions, allocations, bookings, tax lots, realized gains and
cash movements, without surrogate ids (a lot's name, its booking's id, becomes its booking's reference), timestamps
and versions (a wave bumps an order's version
once for its ack and fill, one by one twice), every ClOrdID replaced by its order's id (each book
draws its own), sorted. Plus whether the audit chain verifies and its order entries per order.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import MetaData, Table, select

from engine.audit.verify import verify_chain
from engine.oms.tables import Order
from engine.store.database import Database
from engine.store.people import AuditEntry

LOT = re.compile(r"\bB\d+\b")
TABLES = (
    "orders", "order_events", "executions", "oms_allocations", "bookings", "tax_lots",
    "realized_gains", "cash_movements",
)  # fmt: skip
SKIP = {
    "id",
    "version",
    "booking_id",
    "sent_at",
    "updated_at",
    "created_at",
    "booked_at",
    "at",
    "received_at",
}


def _norm(value: Any, names: dict[str, str]) -> str:
    text = str(value)
    for cl, oid in names.items():
        text = text.replace(cl, oid)
    return text


def digest(database: Database) -> dict[str, Any]:
    """The book's rows as comparable sorted tuples, its audit chain's verdict and order entries."""
    md = MetaData()
    out: dict[str, Any] = {}
    with database.session() as s:
        names = {cl: f"#{oid}" for oid, cl in s.execute(select(Order.id, Order.cl_ord_id))}
        bookings = Table("bookings", md, autoload_with=s.connection())
        lots = {
            f"B{i}": f"lot of {_norm(ref, names)}"
            for i, ref in s.execute(select(bookings.c.id, bookings.c.source_ref))
        }  # a lot is named by its booking's id, which a rolled-back savepoint spends on PostgreSQL
        for name in TABLES:
            t = Table(name, md, autoload_with=s.connection())
            cols = [c for c in t.c if c.name not in SKIP]
            rows = s.execute(select(*cols)).all()
            out[name] = sorted(
                tuple(LOT.sub(lambda x: lots.get(x.group(0), x.group(0)), _norm(v, names)) for v in r)
                for r in rows
            )
            if name == "oms_allocations":  # booked or waiting, not when
                booked = s.execute(select(t.c.source_ref, t.c.booked_at.is_not(None))).all()
                out["booked"] = sorted((_norm(r, names), bool(b)) for r, b in booked)
        report = verify_chain(s)
        out["audit_ok"] = report.ok
        entries = s.execute(
            select(AuditEntry.entity_id, AuditEntry.before, AuditEntry.after).where(
                AuditEntry.action == "order.state"
            )
        ).all()
        out["audit"] = sorted((e, _norm(b, names), _norm(a, names)) for e, b, a in entries)
    return out


def same_ledger(waves: Database, one_by_one: Database) -> dict[str, Any]:
    """Fail naming the first table whose rows differ (what each side wrote alone); both audit chains
    must verify. Returns the wave book's digest for further checks."""
    da, db_ = digest(waves), digest(one_by_one)
    assert da["audit_ok"] and db_["audit_ok"]
    for table in da:
        if da[table] != db_[table]:
            only_a = [x for x in da[table] if x not in db_[table]]
            only_b = [x for x in db_[table] if x not in da[table]]
            raise AssertionError(f"{table}: waves wrote {only_a}, one by one {only_b}")
    return da
