"""Retention benchmark: verify, dry-run and real purge of an audit log of N entries (half of them
older than the period) plus M final orders with an execution and an event each, on SQLite.

Usage:
    python benchmarks/retention.py [--entries 200000] [--orders 20000] [--db sqlite:////tmp/bench-retention.db]

Prints a table of wall times. The book is built fresh (minibook accounts and users, then rows
inserted in bulk; audit entries through engine.audit.batch.record_many so the chain is real).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select

import resources
from engine.audit.batch import AuditDraft, record_many
from engine.audit.signing import Ed25519Signer
from engine.audit.verify import verify_chain
from engine.oms.tables import Execution, Order, OrderEvent
from engine.retention.purge import purge
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.migrate import upgrade
from engine.store.reference import Security
from engine.store.reference_seed import seed_reference
from tests.engine.compliance.minibook import build_minibook

OLD = datetime(2015, 3, 2, tzinfo=UTC)
NEW = datetime(2026, 10, 1, tzinfo=UTC)


def build(db: Database, entries: int, orders: int) -> None:
    upgrade(db)
    with db.transaction() as s:
        seed_reference(s, resources.path("reference"))
    build_minibook(db)
    with db.transaction() as s:
        u1 = s.scalar(select(Account.id).where(Account.code == "U1"))
        aaa = s.scalar(select(Security.id).where(Security.symbol == "AAA"))
        rows = [
            dict(cl_ord_id=f"B{i}", account_id=u1, security_id=aaa, side="buy", quantity=Decimal(1),
                 order_type="market", time_in_force="day", currency="USD", status="filled",
                 created_at=OLD if i % 2 else NEW, updated_at=OLD if i % 2 else NEW, created_by="tr1")
            for i in range(orders)
        ]  # fmt: skip
        s.execute(insert(Order), rows)
        ids = list(s.scalars(select(Order.id)))
        s.execute(insert(Execution), [dict(order_id=i, broker="SIM", exec_id=f"E{i}", exec_type="F", ord_status="2",
                                           transact_time=OLD, received_at=OLD) for i in ids])  # fmt: skip
        s.execute(
            insert(OrderEvent), [dict(order_id=i, at=OLD, kind="fill", status_to="filled") for i in ids]
        )
    half = entries // 2
    for start in range(0, entries, 20000):
        with db.transaction() as s:
            record_many(s, [
                AuditDraft("co1", "bench", "thing", str(i), after={"i": i},
                           at=(OLD if i < half else NEW) + timedelta(seconds=i))
                for i in range(start, min(start + 20000, entries))
            ])  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=200_000)
    ap.add_argument("--orders", type=int, default=20_000)
    ap.add_argument("--db", default="sqlite:////tmp/bench-retention.db")
    a = ap.parse_args()
    path = a.db.removeprefix("sqlite:///")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    db = Database(a.db)
    t = time.perf_counter()
    build(db, a.entries, a.orders)
    rows = [("build", time.perf_counter() - t, "")]
    key = Ed25519Signer.generate()
    t = time.perf_counter()
    with db.session() as s:
        ok = verify_chain(s).ok
    rows.append(("verify (before)", time.perf_counter() - t, f"ok={ok}"))
    for dry in (True, False):
        t = time.perf_counter()
        with db.transaction() as s:
            r = purge(s, "ad1", date(2020, 1, 1), signer=lambda: key, verifier=key.verifier, dry_run=dry,
                      today=date(2026, 12, 7))  # fmt: skip
        rows.append(("purge --dry-run" if dry else "purge", time.perf_counter() - t, f"{r.total()} rows"))
    t = time.perf_counter()
    with db.session() as s:
        rep = verify_chain(s, verifier=key.verifier())
    rows.append(
        ("verify (after)", time.perf_counter() - t, f"ok={rep.ok}, {rep.entries} kept, {rep.purged} purged")
    )
    print(f"entries={a.entries} orders={a.orders} load: {os.getloadavg()}")
    print(f"{'step':<18}{'seconds':>10}  result")
    for name, sec, note in rows:
        print(f"{name:<18}{sec:>10.2f}  {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
