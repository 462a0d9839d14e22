"""The change feed: triggers write one change_log row per tracked change, in the same
transaction (a rollback leaves none), on SQLite and PostgreSQL; the reader returns them in order."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.compliance import approvals, killswitch
from engine.oms.tables import Order
from engine.ports import OrderIntent
from engine.shared.actor import set_actor
from engine.shared.feed import changes_after, last_seq
from engine.store.database import Database
from tests.engine.compliance.minibook import build_minibook


@pytest.fixture
def book(database: Database) -> Database:
    build_minibook(database)
    return database


def _changes(db: Database, after: int = 0):  # type: ignore[no-untyped-def]
    with db.engine.connect() as conn:
        return changes_after(conn, after)


def test_approval_kill_switch_and_rollback_are_logged_exactly(book: Database) -> None:
    with book.engine.connect() as conn:
        start = last_seq(conn)
    with book.transaction() as s:
        case = approvals.submit(
            s, "tr1", "order", "X1", [OrderIntent("U1", "AAA", "buy", Decimal(10))], created_by="pm1"
        )
    with book.transaction() as s:
        approvals.decide(s, "co2", case.id, "approve", "risk_accepted", "ok")
    with pytest.raises(RuntimeError), book.transaction() as s:
        killswitch.engage(s, "co1", "firm", None, "drill")
        raise RuntimeError("rolled back: no change may be logged")
    with book.transaction() as s:
        k = killswitch.engage(s, "co1", "account", "U1", "stop U1")
    got = _changes(book, start)
    assert [(c.type, c.action, c.state, c.who) for c in got] == [
        ("approval", "opened", "draft", "pm1"),
        ("approval", "checked", "checked", "pm1"),
        ("approval", "pending_approval", "pending_approval", "pm1"),
        ("approval", "approved", "approved", "co2"),
        ("kill_switch", "engaged", "engaged", "co1"),
    ]
    assert got[0].ids == {"approval": case.id, "entity": "order", "entity_id": "X1"}
    assert got[-1].ids == {"kill_switch": k.id, "scope": "account", "scope_key": "U1"}
    seqs = [c.seq for c in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert all(c.when.tzinfo is not None for c in got)
    assert [c.seq for c in _changes(book, seqs[2])] == seqs[3:]


def test_order_events_from_bulk_core_inserts_are_logged_with_ids(book: Database) -> None:
    from sqlalchemy import insert

    from engine.oms.tables import OrderEvent
    from engine.store.accounts import Account
    from engine.store.reference import Security

    with book.transaction() as s:
        o = Order(
            cl_ord_id="C-1", account_id=s.scalar(select(Account.id).where(Account.code == "U1")),
            security_id=s.scalar(select(Security.id).where(Security.symbol == "AAA")), side="buy",
            quantity=Decimal(5), order_type="market", time_in_force="day", currency="USD", status="released",
        )  # fmt: skip
        s.add(o)
        s.flush()
        start = _last(s)
        set_actor(s, "tr1")
        s.execute(
            insert(OrderEvent.__table__),
            [
                {
                    "order_id": o.id,
                    "kind": k,
                    "status_from": "x",
                    "status_to": k,
                    "username": "oms",
                    "at": o.created_at,
                }
                for k in ("a", "b", "c")
            ],
        )
    got = _changes(book, start)
    assert [(c.type, c.action, c.ids["order"], c.ids["cl_ord_id"]) for c in got] == [
        ("order", k, o.id, "C-1") for k in ("a", "b", "c")
    ]
    # PostgreSQL: who is the transaction's desk user when set; SQLite: the row's username.
    expect = "tr1" if book.dialect == "postgresql" else "oms"
    assert {c.who for c in got} == {expect}


def _last(s) -> int:  # type: ignore[no-untyped-def]
    return last_seq(s.connection())


def test_sqlite_desk_follows_the_feed_by_polling(sqlite_database: Database) -> None:
    import threading

    from engine.shared.listener import ChangeListener

    build_minibook(sqlite_database)
    got: list = []  # type: ignore[type-arg]
    arrived = threading.Event()

    def on_changes(batch) -> None:  # type: ignore[no-untyped-def]
        got.extend(batch)
        arrived.set()

    listener = ChangeListener(sqlite_database.url, on_changes, poll=0.1, wait=0.05).start()
    try:
        deadline = threading.Event()
        while not listener.online and not deadline.wait(0.05):
            pass
        with sqlite_database.transaction() as s:
            k = killswitch.engage(s, "co1", "firm", None, "polled")
        assert arrived.wait(5)
        assert [(c.type, c.ids["kill_switch"], c.who) for c in got] == [("kill_switch", k.id, "co1")]
    finally:
        listener.stop()
