"""Nothing lost on the wire: real FIX sessions on 127.0.0.1 through a fault-injecting proxy
(tests/connectors/fix/proxy.py) between the OMS and the SIMULATED broker. A dropped order, a
dropped execution report and a cut link each end with every order final at the broker's numbers,
every fill booked once, and no order sent twice."""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connectors.fix.gateway import FixGateway
from engine.clock import ManualClock
from engine.oms.loop import OmsLoop
from engine.oms.messages import Inbound
from engine.oms.tables import Execution, Order
from engine.store.database import Database
from tests.conftest import migrated
from tests.connectors.fix.harness import OPEN, Oms, Sim, all_orders, draft, fix_config, simulators
from tests.connectors.fix.proxy import TO_ACCEPTOR, TO_INITIATOR, FixProxy, field_of, is_type, nth
from tests.engine.oms.book import PassAll, RecordingBooker, make_book, make_oms

H = "--ignore-market-hours"
SIMS: dict[str, tuple[str, ...]] = {
    "one": (H, "--fill-parts", "1"),
    "two": (H, "--fill-parts", "2"),
    "slow": (H, "--fill-parts", "2", "--fill-interval", "1"),
}


@pytest.fixture(scope="module")
def sims(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Sim]]:
    """The simulators, started at once (each takes seconds to import). Tests log on as different
    senders, so each test has its own sessions and sequence numbers."""
    tmp = tmp_path_factory.mktemp("wire-sims")
    yield from simulators(tmp, SIMS, clients="WA,WB,WC,WD,WE")


@pytest.fixture
def book(tmp_path: Path) -> Iterator[Database]:
    db = migrated(f"sqlite:///{tmp_path / 'book.db'}")
    make_book(db)
    yield db
    db.dispose()


def start(book: Database, tmp: Path, sim: Sim, sender: str) -> tuple[Oms, FixProxy, RecordingBooker]:
    sim.ready()
    proxy = FixProxy(sim.port)
    booker = RecordingBooker()
    oms = Oms(book, tmp, proxy.port, checker=PassAll(), booker=booker, sender=sender)
    return oms, proxy, booker


def settled(oms: Oms, ids: list[int], status: str = "filled") -> bool:
    with oms.database.session() as s:
        n = s.scalar(select(func.count()).select_from(Order).where(Order.id.in_(ids), Order.status == status))
    return n == len(ids)


def check_once(
    book: Database, sim: Sim, booker: RecordingBooker, qty: int, booked_before: object = None
) -> None:
    """Every order filled at the broker's quantity, each reached the broker once, each fill booked
    once: the database's fills are exactly the broker's."""
    orders = all_orders(book)
    assert [(o.status, o.cum_qty, o.leaves_qty) for o in orders] == [("filled", qty, 0)] * len(orders)
    events = sim.events()
    ours = {o.cl_ord_id for o in orders}
    news = Counter(e["cl_ord_id"] for e in events if e["event"] == "new" and e["cl_ord_id"] in ours)
    assert news == Counter(ours)  # each order reached the broker exactly once
    assert not [e for e in events if e["event"] == "duplicate_rejected" and e["cl_ord_id"] in ours]
    broker_fills = Counter()
    for e in events:
        if e["event"] == "fill" and e["cl_ord_id"] in ours:
            broker_fills[e["cl_ord_id"]] += int(e["qty"])
    with book.session() as s:
        booked = Counter()
        for cl, q in s.execute(
            select(Order.cl_ord_id, Execution.last_qty)
            .join(Order, Order.id == Execution.order_id)
            .where(Execution.exec_type == "F")
        ):
            booked[cl] += int(q)
    assert booked == broker_fills == Counter({cl: qty for cl in ours})
    fills = dict(booker.fills)
    if isinstance(booked_before, RecordingBooker):  # a restart: the first OMS booked some of them
        assert not set(fills) & set(booked_before.fills)  # none twice
        fills.update(booked_before.fills)
    assert sum(f.quantity for f in fills.values()) == qty * len(orders)


def test_a_dropped_order_is_resent_before_any_new_logon(
    book: Database, tmp_path: Path, sims: dict[str, Sim]
) -> None:
    """The proxy loses the 20th of 60 NewOrderSingles: the broker asks for a resend, the OMS answers
    with a gap fill and then asks the broker for every open order; those it never got are sent
    again under the same ClOrdID. All 60 fill on the first connection."""
    sim = sims["one"]
    oms, proxy, booker = start(book, tmp_path, sim, "WA")
    try:
        rule = proxy.drop(TO_ACCEPTOR, nth(20, is_type("D")))
        ids = oms.create(*[draft(qty=100) for _ in range(60)])
        assert oms.manager.route(ids).sent == ids
        ok = oms.loop.run_until(lambda: settled(oms, ids), 60)
        counts = Counter(o.status for o in all_orders(book))
        assert ok, f"not all filled: {counts}"
        assert len(rule.dropped) == 1
        assert proxy.connections == 1  # no new logon was needed
        assert oms.loop.gap_reconciles >= 1
        check_once(book, sim, booker, 100)
    finally:
        oms.stop()
        proxy.close()


def test_b_dropped_execution_report_comes_again(book: Database, tmp_path: Path, sims: dict[str, Sim]) -> None:
    """The proxy loses the 5th fill the broker sends: the OMS sees the gap on the next message,
    asks for a resend, and the fill arrives again (PossDupFlag=Y) and is booked once."""
    sim = sims["two"]
    oms, proxy, booker = start(book, tmp_path, sim, "WB")
    try:
        rule = proxy.drop(TO_INITIATOR, nth(5, lambda m: is_type("8")(m) and field_of(m, 150) == "F"))
        ids = oms.create(*[draft(qty=200) for _ in range(10)])
        assert oms.manager.route(ids).sent == ids
        ok = oms.loop.run_until(lambda: settled(oms, ids), 60)
        assert ok, f"not all filled: {Counter(o.status for o in all_orders(book))}"
        [lost] = rule.dropped
        exec_id, cl_ord_id = field_of(lost, 17), field_of(lost, 11)
        again = proxy.sent(TO_INITIATOR, lambda m: field_of(m, 17) == exec_id)
        assert [field_of(m, 43) for m in again] == ["Y"]  # it came again, as a possible duplicate
        with book.session() as s:
            [(order_cl, qty)] = s.execute(
                select(Order.cl_ord_id, Execution.last_qty)
                .join(Order, Order.id == Execution.order_id)
                .where(Execution.exec_id == exec_id)
            ).all()
        assert (order_cl, qty) == (cl_ord_id, Decimal(field_of(lost, 32) or "0"))
        assert proxy.connections == 1
        check_once(book, sim, booker, 200)
    finally:
        oms.stop()
        proxy.close()


def test_c_cut_link_ends_every_order_final_and_each_fill_once(
    book: Database, tmp_path: Path, sims: dict[str, Sim]
) -> None:
    """The link is cut as the 25th of 40 orders goes out (it and those after it are lost), and
    stays down until the broker has filled the 24 it got (those reports are lost too). After the
    reconnect every order is filled, each reached the broker once, each fill is booked once."""
    sim = sims["two"]
    oms, proxy, booker = start(book, tmp_path, sim, "WC")
    try:
        rule = proxy.cut_on(TO_ACCEPTOR, nth(25, is_type("D")))
        ids = oms.create(*[draft(qty=200) for _ in range(40)])
        oms.manager.route(ids)
        assert oms.loop.run_until(lambda: bool(rule.dropped), 30), "the link was never cut"
        ours = {o.cl_ord_id for o in all_orders(book)}

        def broker_filled_all_it_got() -> bool:
            events = [e for e in sim.events() if e.get("cl_ord_id") in ours]
            got = {e["cl_ord_id"] for e in events if e["event"] == "new"}
            fills = Counter(e["cl_ord_id"] for e in events if e["event"] == "fill")
            return len(got) == 24 and all(fills[c] == 2 for c in got)

        assert oms.loop.run_until(broker_filled_all_it_got, 30)
        proxy.pause(False)
        ok = oms.loop.run_until(lambda: settled(oms, ids), 90)
        assert ok, f"not all filled: {Counter(o.status for o in all_orders(book))}"
        assert proxy.connections >= 2  # reconnected (more only if a logon attempt timed out)
        check_once(book, sim, booker, 200)
    finally:
        oms.stop()
        proxy.close()


def test_d_locked_sqlite_book_loses_no_fill(book: Database, tmp_path: Path, sims: dict[str, Sim]) -> None:
    """A second writer holds the SQLite write lock (BEGIN IMMEDIATE, a write, held until the broker
    has sent every fill) while the fills arrive: the OMS retries and applies each fill once."""
    sim = sims["two"]
    oms, proxy, booker = start(book, tmp_path, sim, "WD")
    locked, release, done = threading.Event(), threading.Event(), threading.Event()

    def writer() -> None:
        con = sqlite3.connect(str(tmp_path / "book.db"), isolation_level=None, timeout=30)
        try:
            con.execute("BEGIN IMMEDIATE")
            con.execute("UPDATE accounts SET name = name || ' (edited)' WHERE code = 'ACC3'")
            locked.set()
            release.wait(30)  # bounded: the test never waits on a lock forever
            con.execute("COMMIT")
        finally:
            con.close()
            done.set()

    try:
        ids = oms.create(*[draft(qty=200) for _ in range(30)])
        assert oms.manager.route(ids).sent == ids
        thread = threading.Thread(target=writer, name="second-writer", daemon=True)
        thread.start()
        assert locked.wait(10)
        ours = {o.cl_ord_id for o in all_orders(book)}

        def broker_filled_all() -> bool:
            fills = Counter(e["cl_ord_id"] for e in sim.events() if e["event"] == "fill")
            return all(fills[c] == 2 for c in ours)

        assert oms.loop.run_until(broker_filled_all, 60)  # while the lock is held
        with book.session() as s:
            assert (
                s.scalar(select(func.count()).select_from(Execution).where(Execution.exec_type == "F")) == 0
            )
        release.set()
        assert done.wait(10)
        ok = oms.loop.run_until(lambda: settled(oms, ids), 60)
        assert ok, f"not all filled: {Counter(o.status for o in all_orders(book))}"
        check_once(book, sim, booker, 200)
        assert oms.loop.dropped == 0
        assert oms.loop.retries > 0  # the lock did bite, and was waited out
    finally:
        release.set()
        oms.stop()
        proxy.close()


def test_e_crash_while_the_book_is_locked_loses_no_fill(
    book: Database, tmp_path: Path, sims: dict[str, Sim]
) -> None:
    """The OMS dies while the fills wait in memory for a locked book (QuickFIX had taken them).
    At the restart the gateway resumes each session after the last message the OMS applied, so
    the broker sends the fills again and each is booked once."""
    sim = sims["slow"].ready()  # fills 1 s apart: the acks are applied before the lock is taken
    proxy = FixProxy(sim.port)
    config = fix_config(tmp_path, proxy.port, sender="WE")
    first = Oms(book, tmp_path, proxy.port, checker=PassAll(), booker=RecordingBooker(), config=config)
    ids = first.create(*[draft(qty=200) for _ in range(10)])
    ours: set[str] = set()
    con = sqlite3.connect(str(tmp_path / "book.db"), isolation_level=None, timeout=30)
    try:
        assert first.manager.route(ids).sent == ids
        ours = {o.cl_ord_id for o in all_orders(book)}
        assert first.loop.run_until(lambda: settled(first, ids, "new"), 30)
        con.execute("BEGIN IMMEDIATE")  # a second writer takes the book's write lock
        con.execute("UPDATE accounts SET name = name || ' (edited)' WHERE code = 'ACC3'")

        def broker_filled_all() -> bool:
            fills = Counter(e["cl_ord_id"] for e in sim.events() if e["event"] == "fill")
            return all(fills[c] == 2 for c in ours)

        # The broker sent every fill; they wait in memory, the loop retrying its first batch.
        assert first.loop.run_until(lambda: broker_filled_all() and first.loop.retrying, 60)
    finally:
        first.stop()  # the crash: the waiting messages die with the loop
        con.execute("COMMIT") if con.in_transaction else None
        con.close()
    assert not settled(first, ids)  # some fills were lost with the process
    booker = RecordingBooker()
    inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
    gateway = FixGateway(config, tmp_path / "fix", inbox, book=book)
    manager = make_oms(book, gateway=gateway, booker=booker, clock=ManualClock(OPEN))
    loop = OmsLoop(manager, inbox, tick_every=0.1)
    try:
        gateway.start()
        ok = loop.run_until(lambda: settled(first, ids), 60)
        assert ok, f"not all filled: {Counter(o.status for o in all_orders(book))}"
        check_once(book, sim, booker, 200, booked_before=first.manager.booker)
    finally:
        gateway.stop(force=True)
        proxy.close()
