"""The OMS loop under faults, without a network: a held SQLite lock and a dropped PostgreSQL
connection are retried until the fills apply; a bad message does not take its batch with it; a
sequence gap reconciles the broker once; two overlapping reconciles resend an order once."""

from __future__ import annotations

import queue
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from engine.clock import ManualClock
from engine.oms.drafts import OrderDraft
from engine.oms.events import OrderAlert
from engine.oms.loop import OmsLoop
from engine.oms.messages import ExecReport, Inbound, NewOrder, SessionGap, SessionState, StatusRequest
from engine.oms.progress import resume_points
from engine.oms.service import OrderManager
from engine.oms.tables import Execution, Order
from engine.store.database import Database
from tests.engine.oms.book import Gateway, RecordingBooker, make_book, make_oms

OPEN = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture
def desk(database: Database) -> Iterator[tuple[OrderManager, Gateway, OmsLoop, queue.SimpleQueue[Inbound]]]:
    make_book(database)
    gw = Gateway()
    m = make_oms(database, gateway=gw, booker=RecordingBooker(), clock=ManualClock(OPEN))
    inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
    yield m, gw, OmsLoop(m, inbox, tick_every=60, settle=0.0), inbox


def er(
    cl: str, exec_id: str, exec_type: str, status: str, cum: int, leaves: int, last: int = 0, **kw
) -> ExecReport:  # type: ignore[no-untyped-def]
    px = kw.pop("px", Decimal("10") if last else Decimal(0))
    return ExecReport(
        broker="SIM", exec_id=exec_id, exec_type=exec_type, ord_status=status, cl_ord_id=cl,
        last_qty=Decimal(last), last_px=px, cum_qty=Decimal(cum), leaves_qty=Decimal(leaves),
        avg_px=Decimal("10") if cum else Decimal(0), transact_time=OPEN, **kw,
    )  # fmt: skip


def routed(m: OrderManager, n: int, qty: int = 100) -> list[Order]:
    ids = m.create([OrderDraft("ACC1", "AAPL", "buy", Decimal(qty), broker="SIM") for _ in range(n)])
    m.route(ids)
    with m.database.session() as s:
        return list(s.scalars(select(Order).where(Order.id.in_(ids)).order_by(Order.id)))


def state(m: OrderManager, oid: int) -> tuple[str, Decimal]:
    with m.database.session() as s:
        o = s.get(Order, oid)
        assert o is not None
        return o.status, o.cum_qty


def test_overlapping_reconciles_resend_an_unknown_order_once(desk) -> None:  # type: ignore[no-untyped-def]
    m, gw, _, _ = desk
    [o] = routed(m, 1)
    m.reconcile("SIM")
    m.reconcile("SIM")  # a logon and a gap, close together: two questions before any answer
    m.apply(er(o.cl_ord_id, "U1", "I", "8", 0, 0, ord_rej_reason=5))
    m.apply(er(o.cl_ord_id, "U2", "I", "8", 0, 0, ord_rej_reason=5))
    sends = [x for x in gw.sent if isinstance(x, NewOrder)]
    assert [x.cl_ord_id for x in sends] == [o.cl_ord_id] * 2  # the first send and ONE resend
    m.reconcile("SIM")  # a later round asks again: the resend was lost too
    m.apply(er(o.cl_ord_id, "U3", "I", "8", 0, 0, ord_rej_reason=5))
    assert len([x for x in gw.sent if isinstance(x, NewOrder)]) == 3
    assert state(m, o.id) == ("pending_new", 0)


def test_gap_notices_reconcile_the_broker_once(desk) -> None:  # type: ignore[no-untyped-def]
    m, gw, loop, inbox = desk
    orders = routed(m, 3)
    m.apply(er(orders[0].cl_ord_id, "F0", "F", "2", 100, 0, 100))  # final: not asked about
    inbox.put(SessionGap(broker="SIM", kind="resend_request_received", begin_seq=5))
    inbox.put(SessionGap(broker="SIM", kind="gap_fill_sent", begin_seq=5, end_seq=9))
    assert loop.run_until(lambda: loop.gap_reconciles == 1, 10)
    loop.run_until(lambda: False, 0.2)
    asked = [x.cl_ord_id for x in gw.sent if isinstance(x, StatusRequest)]
    assert sorted(asked) == sorted(o.cl_ord_id for o in orders[1:]) and loop.gap_reconciles == 1


def test_a_bad_message_does_not_drop_its_batch(desk) -> None:  # type: ignore[no-untyped-def]
    m, _, loop, inbox = desk
    a, b, c = routed(m, 3)
    alerts: list[OrderAlert] = []
    m.bus.subscribe(OrderAlert, alerts.append)
    for msg in (
        er(a.cl_ord_id, "A1", "F", "2", 100, 0, 100),
        er(b.cl_ord_id, "B1", "F", "2", 100, 0, 100, px=Decimal("NaN")),  # fails to apply
        er(c.cl_ord_id, "C1", "F", "2", 100, 0, 100),
    ):
        inbox.put(msg)
    assert loop.run_until(lambda: state(m, c.id)[0] == "filled", 10)
    assert [state(m, x.id) for x in (a, b, c)] == [("filled", 100), ("pending_new", 0), ("filled", 100)]
    assert [x.cl_ord_id for x in alerts] == [b.cl_ord_id]


def test_a_held_sqlite_lock_is_waited_out(sqlite_database: Database) -> None:
    make_book(sqlite_database)
    gw = Gateway()
    m = make_oms(sqlite_database, gateway=gw, booker=RecordingBooker(), clock=ManualClock(OPEN))
    inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
    loop = OmsLoop(m, inbox, tick_every=60)
    orders = routed(m, 5)
    path = sqlite_database.url.database
    assert path is not None
    other = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        other.execute("BEGIN IMMEDIATE")  # a second writer holds the write lock
        other.execute("UPDATE accounts SET name = name || ' (edited)' WHERE code = 'ACC3'")
        for i, o in enumerate(orders):
            inbox.put(er(o.cl_ord_id, f"F{i}", "F", "2", 100, 0, 100))
        loop.step()
        assert loop.retrying and loop.retries >= 1
        for _ in range(3):  # still locked: retried, nothing skipped, nothing applied
            loop.step(timeout=0.5)
        assert {state(m, o.id) for o in orders} == {("pending_new", 0)}
        other.execute("COMMIT")
    finally:
        other.close()
    assert loop.run_until(
        lambda: not loop.retrying and all(state(m, o.id) == ("filled", 100) for o in orders), 30
    )
    with sqlite_database.session() as s:
        assert s.scalar(select(func.count()).select_from(Execution)) == 5
    assert loop.dropped == 0


def test_a_dropped_postgres_connection_is_retried(database: Database) -> None:
    if database.dialect != "postgresql":
        pytest.skip("PostgreSQL only: server-side connection termination")
    make_book(database)
    m = make_oms(database, gateway=Gateway(), booker=RecordingBooker(), clock=ManualClock(OPEN))
    inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
    loop = OmsLoop(m, inbox, tick_every=60)
    orders = routed(m, 3)
    admin = Database(database.url)
    try:
        with admin.engine.connect() as conn:  # the server drops every other connection to the book
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
    finally:
        admin.dispose()
    for i, o in enumerate(orders):
        inbox.put(er(o.cl_ord_id, f"P{i}", "F", "2", 100, 0, 100))
    assert loop.run_until(lambda: all(state(m, o.id) == ("filled", 100) for o in orders), 30)
    assert loop.retries >= 1 and loop.dropped == 0


def test_progress_records_the_last_applied_message_per_session(desk) -> None:  # type: ignore[no-untyped-def]
    m, _, loop, inbox = desk
    a, b = routed(m, 2)
    sid, other = "FIX.4.4:WS->SIM", "FIX.4.4:WS2->SIM"
    inbox.put(SessionState(broker="SIM", session_id=sid, kind="logon", logged_on=True, next_target_seq=2))
    assert loop.run_until(lambda: resume_points(m.database) == {sid: 2}, 10)  # starts at the logon
    inbox.put(er(a.cl_ord_id, "A0", "0", "0", 0, 100, session_id=sid, seq_num=7))
    inbox.put(er(b.cl_ord_id, "B0", "0", "0", 0, 100, session_id=other, seq_num=3))
    inbox.put(er(a.cl_ord_id, "A1", "F", "2", 100, 0, 100, session_id=sid, seq_num=8))
    assert loop.run_until(lambda: resume_points(m.database) == {sid: 9, other: 4}, 10)
    assert state(m, a.id) == ("filled", 100)
    inbox.put(SessionState(broker="SIM", session_id=sid, kind="logon", logged_on=True, next_target_seq=30))
    loop.run_until(lambda: False, 0.3)
    assert resume_points(m.database)[sid] == 9  # a later logon never moves it past unapplied messages
