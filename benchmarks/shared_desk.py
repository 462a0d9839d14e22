"""Shared desk: notification latency to 5 listening workstations while a 1,000-account
rebalance is approved and routed on one PostgreSQL book.

    python benchmarks/shared_desk.py [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--accounts 1000] [--listeners 5]

A fresh database is created (and dropped) on the server. The writer (this process) runs the
real services: 1,000 rebalance proposals are written (one bulk run), reviewed and approved in
batches of 50 (ORM, version-checked), then the OMS creates one order per account, blocks them,
routes the blocks (a recording gateway stands in for FIX) and applies the blocks' fills, which
allocates them back to the 1,000 child orders. Meanwhile a probe thread commits a tiny tracked
change every 50 ms. Each listener process follows the change feed (ChangeListener, LISTEN/NOTIFY
plus catch-up) and refreshes what changed (re-reads the changed proposals, orders, approvals);
latency = refresh done at the listener - the probe's COMMIT returned at the writer (PostgreSQL
sends the notification as the commit completes, so a few come out slightly negative).
Prints p50/p95/p99/max per listener and overall; the target is p99 < 500 ms.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, make_url, select, update
from sqlalchemy.pool import NullPool

OPEN = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def listener_proc(url: str, name: str, ready: Any, stop: Any, out: Any) -> None:
    """One workstation: follows the feed and refreshes the changed items."""
    from sqlalchemy import BigInteger, any_, bindparam
    from sqlalchemy.dialects.postgresql import ARRAY

    from engine.oms.tables import Order
    from engine.rebalance.tables import Proposal
    from engine.shared.listener import ChangeListener
    from engine.store.database import Database

    def ids(values: set[int]) -> Any:  # one array parameter however many ids (one cached plan)
        return bindparam("ids", sorted(values), type_=ARRAY(BigInteger()))

    db = Database(url)
    seen: dict[str, float] = {}
    counts = {"changes": 0, "batches": 0, "refreshed_rows": 0}

    def on_changes(batch: Any) -> None:
        props = {c.ids["proposal"] for c in batch if c.type == "proposal"}
        orders = {c.ids["order"] for c in batch if c.type in ("order", "fill")}
        n = 0
        with db.engine.connect() as conn:  # the refresh: each changed item once per batch, one query a kind
            if props:
                n += len(
                    conn.execute(
                        select(Proposal.id, Proposal.status).where(Proposal.id == any_(ids(props)))
                    ).all()
                )
            if orders:
                n += len(
                    conn.execute(
                        select(Order.id, Order.status, Order.cum_qty).where(Order.id == any_(ids(orders)))
                    ).all()
                )
        done = time.time()
        counts["changes"] += len(batch)
        counts["batches"] += 1
        counts["refreshed_rows"] += n
        for c in batch:
            if c.type == "proposal" and c.state and c.state.startswith("probe-"):
                seen[c.state] = done

    lst = ChangeListener(url, on_changes, wait=0.5).start()
    while not lst.online:
        time.sleep(0.05)
    ready.put(name)
    stop.wait()
    time.sleep(1.0)  # the last probes arrive
    lst.stop()
    out.put((name, seen, counts))


def build_book(db: Any, n: int) -> None:
    from engine.access.users import create_user
    from engine.store.accounts import Account, Household
    from engine.store.reference import Security

    with db.transaction() as s:
        h = Household(code="H", name="Bench")
        s.add(h)
        s.flush()
        s.add_all(
            Account(code=f"A{i:05d}", name=f"Account {i}", household_id=h.id, base_currency="USD", custodian="T",
                    tax_status="taxable", tax_jurisdiction="US", client_type="retail", domicile="onshore",
                    kyc_status="approved", risk_rating="medium", cash_target=Decimal("0.02"),
                    cash_floor=Decimal("0.01"), drift_band=Decimal("0.05"), lot_relief="fifo")
            for i in range(n)
        )  # fmt: skip
        create_user(s, None, "admin", "Bench admin", "admin", "bench-admin-password")
        create_user(s, "admin", "pm1", "Bench PM", "portfolio_manager", "bench-pm1-password")
        create_user(s, "admin", "tr1", "Bench trader", "trader", "bench-tr1-password")
        for sym in ("AAPL", "MSFT", "NVDA"):
            s.add(Security(symbol=sym, name=sym, asset_class="equity", currency="USD", mic="XNAS", country="US",
                           sector="Information Technology", issuer=sym, lot_size=1))  # fmt: skip


def workload(db: Any, n: int, marks: dict[str, float]) -> None:
    """Rebalance proposals -> approved -> orders -> blocks -> routed -> filled and allocated."""
    from engine.clock import ManualClock
    from engine.compose import build_order_manager
    from engine.oms.drafts import OrderDraft
    from engine.oms.messages import ExecReport
    from engine.oms.tables import Order
    from engine.rebalance.tables import Proposal
    from engine.shared.actor import set_actor
    from engine.store.accounts import Account

    t0 = time.perf_counter()
    with db.transaction() as s:
        accts = list(
            s.execute(select(Account.id, Account.code).where(Account.code.like("A%")).order_by(Account.id))
        )
        s.add_all(Proposal(batch_id="bench", account_id=a.id, mode="rebalance", status="proposed", created_by="pm1",
                           payload={"trades": [{"symbol": "AAPL", "side": "buy", "quantity": "10"}]})
                  for a in accts)  # fmt: skip
    marks["proposals"] = time.perf_counter() - t0
    ids = [p for (p,) in db.session().execute(select(Proposal.id).where(Proposal.batch_id == "bench"))]
    for k in range(0, len(ids), 50):  # the reviewer approves page by page
        with db.transaction() as s:
            set_actor(s, "co1")
            for p in s.scalars(select(Proposal).where(Proposal.id.in_(ids[k : k + 50]))):
                p.status = "approved"
    marks["approved"] = time.perf_counter() - t0

    class Gateway:
        def __init__(self) -> None:
            self.sent: list[Any] = []

        def send(self, m: Any) -> None:
            self.sent.append(m)

        def is_logged_on(self, broker: str) -> bool:
            return True

    class Pass:
        def check(self, session: Any, orders: Any, username: str) -> Any:
            from engine.ports import CheckOutcome

            return [CheckOutcome(o.ref, "pass", ()) for o in orders]

    gw = Gateway()
    # The composition root's OMS (permissions, kill switch, booker, approval cases), with a checker that
    # passes everything so the benchmark measures the shared store, not the compliance rules.
    m = build_order_manager(db, clock=ManualClock(OPEN), gateway=gw, username="tr1").with_checker(Pass())
    syms = ("AAPL", "MSFT", "NVDA")
    drafts = [OrderDraft(account=a.code, symbol=syms[i % 3], side="buy", quantity=Decimal(10 + i % 7), broker="SIM")
              for i, a in enumerate(accts)]  # fmt: skip
    oids = []
    for k in range(0, len(drafts), 250):
        oids += m.create(drafts[k : k + 250], username="pm1")
    marks["orders"] = time.perf_counter() - t0
    blocks = m.build_blocks(oids)
    m.route(blocks, outside_hours=True)
    marks["routed"] = time.perf_counter() - t0
    with db.session() as s:
        rows = s.execute(select(Order.cl_ord_id, Order.quantity).where(Order.id.in_(blocks))).all()
    for i, (cl, q) in enumerate(rows):
        for j, part in enumerate((q / 2, q - q / 2)):
            cum = q / 2 if j == 0 else q
            m.apply(ExecReport(broker="SIM", exec_id=f"X{i}-{j}", exec_type="F", ord_status="1" if j == 0 else "2",
                               cl_ord_id=cl, last_qty=part, last_px=Decimal("190"), cum_qty=cum,
                               leaves_qty=q - cum, avg_px=Decimal("190"), transact_time=OPEN))  # fmt: skip
    marks["filled"] = time.perf_counter() - t0
    with db.session() as s:
        marks["children_filled"] = len(
            s.execute(select(Order.id).where(Order.parent_id.in_(blocks), Order.status == "filled")).all()
        )


def prober(db: Any, probe_id: int, stop: threading.Event, sent: dict[str, float]) -> None:
    """A tiny tracked change every 50 ms; latency starts when its COMMIT has returned."""
    from engine.rebalance.tables import Proposal

    i = 0
    while not stop.is_set():
        i += 1
        tag = f"probe-{i}"
        with db.sessions() as s:
            s.begin()
            s.execute(
                update(Proposal)
                .where(Proposal.id == probe_id)
                .values(status=tag, version=Proposal.version + 1)
            )
            s.commit()
            sent[tag] = time.time()
        stop.wait(0.05)


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--pg",
        default=os.environ.get(
            "WORKSTATION_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    ap.add_argument("--accounts", type=int, default=1000)
    ap.add_argument("--listeners", type=int, default=5)
    args = ap.parse_args()

    import resources
    from engine.rebalance.tables import Proposal
    from engine.store.database import Database
    from engine.store.migrate import upgrade
    from engine.store.reference_seed import seed_reference

    name = f"ws_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as c:
        c.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(args.pg).set(database=name).render_as_string(hide_password=False)
    try:
        db = Database(url)
        upgrade(db)
        with db.transaction() as s:
            seed_reference(s, resources.path("reference"))
        build_book(db, args.accounts)
        with db.transaction() as s:
            from engine.store.accounts import Account

            probe = Proposal(batch_id="probe", account_id=s.scalar(select(Account.id).limit(1)), mode="probe",
                             status="probe-0", created_by="probe")  # fmt: skip
            s.add(probe)
            s.flush()
            probe_id = probe.id
        ctx = mp.get_context("spawn")
        ready, out, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
        procs = [ctx.Process(target=listener_proc, args=(url, f"desk{i + 1}", ready, stop, out))
                 for i in range(args.listeners)]  # fmt: skip
        for p in procs:
            p.start()
        for _ in procs:
            ready.get(timeout=120)
        sent: dict[str, float] = {}
        halt = threading.Event()
        t = threading.Thread(target=prober, args=(db, probe_id, halt, sent))
        marks: dict[str, float] = {}
        t.start()
        time.sleep(1.0)  # idle baseline probes
        started = time.time()
        workload(db, args.accounts, marks)
        time.sleep(1.0)
        halt.set()
        t.join()
        stop.set()
        results = [out.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(30)
        db.dispose()
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(
        f"workload ({args.accounts} accounts), seconds since start: "
        + ", ".join(f"{k} {v:.1f}" for k, v in marks.items() if k != "children_filled")
    )
    print(f"child orders filled by allocation: {marks.get('children_filled')}; probes committed: {len(sent)}")
    print(
        f"{'listener':<10} {'probes':>6} {'missed':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'changes':>8} {'batches':>8}"
    )
    every: list[float] = []
    for name_, seen, counts in sorted(results):
        lat = [1000 * (seen[k] - sent[k]) for k in sent if k in seen]
        every += lat
        print(f"{name_:<10} {len(lat):>6} {len(sent) - len(lat):>6} {pct(lat, 50):>8.1f} {pct(lat, 95):>8.1f} "
              f"{pct(lat, 99):>8.1f} {max(lat):>8.1f} {counts['changes']:>8} {counts['batches']:>8}")  # fmt: skip
    print(
        f"{'all':<10} {len(every):>6} {'':>6} {pct(every, 50):>8.1f} {pct(every, 95):>8.1f} {pct(every, 99):>8.1f} {max(every):>8.1f}"
    )
    edges = [("idle", 0.0)] + [(k, v) for k, v in marks.items() if k != "children_filled"]
    print("latency by workload phase (probes committed during it, all desks):")
    for (_n, lo), (name_, hi) in zip(edges, [*edges[1:], ("end", 1e9)]):
        phase = [1000 * (r[1][k] - sent[k]) for k in sent for r in results
                 if k in r[1] and lo <= sent[k] - started < hi]  # fmt: skip
        if phase:
            print(
                f"  until {name_:<10} {len(phase):>5} samples  p50 {pct(phase, 50):7.1f}  p99 {pct(phase, 99):7.1f} ms"
            )
    print(
        f"target p99 < 500 ms: {'met' if pct(every, 99) < 500 else 'NOT met'}; mean {statistics.mean(every):.1f} ms"
    )
    print(
        f"load average (1, 5, 15 min) at the end: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
