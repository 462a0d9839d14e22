"""A batch of broker messages read up front (engine.oms.executions.Executions._prefetch): the same
ExecID twice in one batch applies once; a report whose savepoint rolled back leaves its ExecID
unseen, so a later copy in the same batch applies; a Wake on the inbox is no broker message; and
every fill's order event still reaches the audit chain, once."""

from __future__ import annotations

import queue
from decimal import Decimal

from sqlalchemy import func, select

from engine.audit.tables import AuditHead
from engine.clock import ManualClock
from engine.oms.loop import OmsLoop
from engine.oms.messages import Inbound
from engine.oms.tables import Execution, OrderEvent
from engine.store.database import Database
from engine.store.people import AuditEntry
from tests.engine.oms.book import Gateway, RecordingBooker, make_book, make_oms
from tests.engine.oms.test_wire_loop import OPEN, er, routed, state


def test_one_batch_applies_an_exec_id_once_and_audits_every_event(database: Database) -> None:
    make_book(database)
    m = make_oms(database, gateway=Gateway(), booker=RecordingBooker(), clock=ManualClock(OPEN))
    a, b = routed(m, 2)
    with database.session() as s:
        audited_before = s.scalar(select(func.count()).select_from(AuditEntry))
        events_before = s.scalar(select(func.count()).select_from(OrderEvent))
    m.apply_batch(
        [
            er(a.cl_ord_id, "A0", "0", "0", 0, 100),
            er(a.cl_ord_id, "A1", "F", "1", 40, 60, 40),
            er(a.cl_ord_id, "A1", "F", "1", 40, 60, 40, poss_dup=True),  # the same fill again
            er(b.cl_ord_id, "B1", "F", "2", 100, 0, 100),
        ]
    )
    assert state(m, a.id) == ("partially_filled", Decimal(40))
    assert state(m, b.id) == ("filled", Decimal(100))
    assert m.duplicates == 1
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Execution).where(Execution.exec_id == "A1")) == 1
        events = s.scalar(select(func.count()).select_from(OrderEvent)) - events_before
        audited = s.scalar(select(func.count()).select_from(AuditEntry)) - audited_before
        head = s.get(AuditHead, 1)
        last = s.scalar(select(func.max(AuditEntry.id)))
    assert events >= 3 and audited == events  # every order event of the batch, once
    assert head is not None and head.last_id == last


def test_a_report_rolled_back_in_its_savepoint_is_not_seen_by_a_later_copy(database: Database) -> None:
    make_book(database)
    m = make_oms(database, gateway=Gateway(), booker=RecordingBooker(), clock=ManualClock(OPEN))
    [a] = routed(m, 1)
    calls = {"n": 0}
    fill = m.executions._fill

    def fails_once(tx, o, r):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("bad data in the first copy")
        return fill(tx, o, r)

    m.executions._fill = fails_once  # type: ignore[method-assign]
    m.apply_batch(
        [er(a.cl_ord_id, "X1", "F", "2", 100, 0, 100), er(a.cl_ord_id, "X1", "F", "2", 100, 0, 100)]
    )
    assert state(m, a.id) == ("filled", Decimal(100))
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Execution).where(Execution.exec_id == "X1")) == 1


def test_a_wake_is_no_broker_message(database: Database) -> None:
    make_book(database)
    m = make_oms(database, gateway=Gateway(), booker=RecordingBooker(), clock=ManualClock(OPEN))
    inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
    loop = OmsLoop(m, inbox, tick_every=60)
    [a] = routed(m, 1)
    loop.wake()
    inbox.put(er(a.cl_ord_id, "W1", "F", "2", 100, 0, 100))
    loop.wake()
    assert loop.run_until(lambda: state(m, a.id)[0] == "filled", 10)
    assert loop.applied == 1 and loop.dropped == 0 and m.alerts == 0
