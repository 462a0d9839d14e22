"""Waves (engine.oms.waves, wave_route, wave_fills): route calls queued to the engine thread and
the reports waiting, applied with bulk statements, write what one by one writes, and a fault in a
wave loses or half-writes nothing. On SQLite and PostgreSQL, with accounting's real LedgerBooker."""

from __future__ import annotations

import queue
from collections.abc import Callable, Sequence
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.accounting.booking import LedgerBooker
from engine.clock import ManualClock
from engine.errors import PermissionDenied
from engine.oms import wave_fills, wave_route
from engine.oms.drafts import OrderDraft
from engine.oms.loop import OmsLoop
from engine.oms.messages import ExecReport, Inbound, NewOrder
from engine.oms.router import RouteResult
from engine.oms.service import OrderManager
from engine.oms.tables import Allocation, Execution, Order
from engine.oms.waves import RouteCall, share
from engine.store.database import Database
from tests.engine.oms.book import Gateway, make_book, make_oms
from tests.engine.oms.ledger_digest import digest, same_ledger
from tests.engine.oms.test_wire_loop import OPEN
from tests.engine.oms.two_books import two_books  # noqa: F401  (the fixture)

BUYS = [("ACC1", "AAPL", 100, "101.25"), ("ACC2", "AAPL", 250, "99.5"), ("ACC3", "AAPL", 40, "100"),
        ("ACC1", "VOD.L", 300, "2.5"), ("ACC2", "7203.T", 100, "2500")]  # fmt: skip
"""VOD.L has no GBP/USD rate in the book: accounting refuses it (its allocation waits, alerted);
7203.T's market is closed at OPEN: held, never sent."""
SELLS = [("ACC1", "AAPL", 60, "110"), ("ACC2", "AAPL", 250, "95.5")]


def drafts(lines: Sequence[tuple[str, str, int, str]], side: str) -> list[OrderDraft]:
    return [
        OrderDraft(acc, sym, side, Decimal(q), broker="SIM", order_type="limit", limit_price=Decimal(px))  # type: ignore[arg-type]
        for acc, sym, q, px in lines
    ]


def reports(sent: Sequence[NewOrder], ids: dict[str, int]) -> list[ExecReport]:
    """A New ack and a full fill at the limit for each order sent (ExecIDs by order id)."""
    out = []
    for n in sent:
        oid, px, q = ids[n.cl_ord_id], n.limit_price or Decimal(1), n.quantity
        base = dict(broker="SIM", cl_ord_id=n.cl_ord_id, transact_time=OPEN, avg_px=Decimal(0))
        out.append(ExecReport(exec_id=f"E{oid}-0", exec_type="0", ord_status="0", leaves_qty=q, **base))  # type: ignore[arg-type]
        base["avg_px"] = px
        out.append(
            ExecReport(
                exec_id=f"E{oid}-1", exec_type="F", ord_status="2", last_qty=q, last_px=px, cum_qty=q, **base
            )  # type: ignore[arg-type]
        )
    return out


def cl_ids(db: Database) -> dict[str, int]:
    with db.session() as s:
        return {cl: oid for oid, cl in s.execute(select(Order.id, Order.cl_ord_id))}


def oms(db: Database, gw: Gateway, **kw: object) -> OrderManager:
    make_book(db)
    return make_oms(db, gateway=gw, booker=LedgerBooker(), clock=ManualClock(OPEN), **kw)


def by_waves(db: Database) -> tuple[OrderManager, OmsLoop]:
    """Each order routed by its own call queued to the engine thread, the reports applied as they
    wait: the ack and fill of every order in one wave."""
    gw = Gateway()
    m = oms(db, gw)
    inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
    loop = OmsLoop(m, inbox, tick_every=60, settle=0.0)
    for lines, side in ((BUYS, "buy"), (SELLS, "sell")):
        ids = m.create(drafts(lines, side))
        calls = [loop.route([i]) for i in ids]
        loop.step(0)
        assert all(c.done() for c in calls)
        sent = [x for x in gw.sent if isinstance(x, NewOrder) and cl_ids(db)[x.cl_ord_id] in ids]
        for r in reports(sent, cl_ids(db)):
            inbox.put(r)
        loop.step(0)
    loop.step(0)  # the last wave's sent_at
    return m, loop


def one_by_one(db: Database, monkeypatch: pytest.MonkeyPatch) -> OrderManager:
    """The same orders, each routed and each report applied in a transaction of its own, the ORM
    path (no order goes in bulk)."""
    gw = Gateway()
    m = oms(db, gw)
    with monkeypatch.context() as p:
        p.setattr(wave_route, "ordinary", lambda *a, **k: False)
        for lines, side in ((BUYS, "buy"), (SELLS, "sell")):
            ids = m.create(drafts(lines, side))
            for i in ids:
                m.route([i])
            sent = [x for x in gw.sent if isinstance(x, NewOrder) and cl_ids(db)[x.cl_ord_id] in ids]
            for r in reports(sent, cl_ids(db)):
                m.apply(r)
    return m


def test_waves_write_the_ledger_one_by_one_writes(
    two_books: tuple[Database, Database],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = two_books
    m, loop = by_waves(a)
    assert m.executions.wave.applied == 12  # 4 buys sent and 2 sells: ack and fill each, in bulk
    assert loop.routed == 7
    one_by_one(b, monkeypatch)
    da = same_ledger(a, b)
    with a.session() as s:
        statuses = dict(s.execute(select(Order.status, func.count()).group_by(Order.status)).all())
        assert statuses == {"filled": 6, "held": 1}
        assert s.scalar(select(func.count()).where(Order.sent_at.is_(None), Order.status == "filled")) == 0
        booked = dict(s.execute(select(Allocation.source_ref, Allocation.booked_at.is_not(None))).all())
    assert sorted(booked.values()) == [False, True, True, True, True, True]  # VOD.L waits, alerted
    assert len(da["realized_gains"]) >= 2


def _wave_with(
    db: Database, patch: Callable[[pytest.MonkeyPatch], None], monkeypatch: pytest.MonkeyPatch
) -> OrderManager:
    gw = Gateway()
    m = oms(db, gw)
    ids = m.create(drafts(BUYS[:3], "buy"))
    m.route(ids)
    patch(monkeypatch)
    m.apply_batch(reports([x for x in gw.sent if isinstance(x, NewOrder)], cl_ids(db)))
    monkeypatch.undo()
    return m


def _filled_once(db: Database) -> None:
    with db.session() as s:
        assert [o.status for o in s.scalars(select(Order).order_by(Order.id))] == ["filled"] * 3
        assert s.scalar(select(func.count()).select_from(Execution)) == 6
        assert (
            s.scalar(select(func.count()).select_from(Allocation).where(Allocation.booked_at.is_not(None)))
            == 3
        )
    assert digest(db)["audit_ok"]


def test_a_fault_in_one_orders_step_sends_only_that_order_one_by_one(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = wave_fills.WaveFills._step

    def broken(self, o, r):  # type: ignore[no-untyped-def]
        if o.row["account_id"] == 2:
            raise RuntimeError("boom")
        return step(self, o, r)

    m = _wave_with(database, lambda p: p.setattr(wave_fills.WaveFills, "_step", broken), monkeypatch)
    assert m.executions.wave.applied == 4  # two orders' ack and fill in bulk, the third one by one
    _filled_once(database)


def test_a_failed_bulk_write_leaves_the_whole_wave_to_one_by_one(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails(*a, **k):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk says no")

    m = _wave_with(database, lambda p: p.setattr(wave_fills, "move_versioned", fails), monkeypatch)
    assert m.executions.wave.applied == 0
    _filled_once(database)


class StopACC2:
    """A kill switch on account ACC2."""

    def allowed(self, session: Session, account_codes: set[str]) -> set[str]:
        return account_codes - {"ACC2"}

    def stopped_traders(self, session: Session, usernames: set[str]) -> dict[str, str]:
        return {}


def only_traders(session: Session, username: str, permission: str) -> None:
    if username == "eve":
        raise PermissionDenied(username, permission)


def test_a_wave_refuses_each_call_and_order_alone(database: Database) -> None:
    gw = Gateway()
    m = oms(database, gw, kill_switch=StopACC2(), authorize=only_traders)
    loop = OmsLoop(m, queue.SimpleQueue(), tick_every=60, settle=0.0)
    ids = m.create(drafts([*BUYS[:3], ("ACC3", "AAPL", 10, "100")], "buy"), username="tom")
    calls = [loop.route([ids[0]], username="tom"), loop.route([ids[1]], username="tom"),
             loop.route([ids[2]], username="eve"), loop.route([ids[3]])]  # fmt: skip
    loop.step(0)
    assert calls[0].result().sent == [ids[0]]
    assert calls[1].result().skipped == [ids[1]]  # ACC2's kill switch: refused alone
    with pytest.raises(PermissionDenied):
        calls[2].result()
    assert calls[3].result().sent == [ids[3]]
    with database.session() as s:
        st = dict(s.execute(select(Order.id, Order.status).where(Order.id.in_(ids))).all())
    assert [st[i] for i in ids] == ["pending_new", "released", "released", "pending_new"]
    assert sorted(x.cl_ord_id for x in gw.sent if isinstance(x, NewOrder)) == sorted(
        cl for cl, i in cl_ids(database).items() if i in (ids[0], ids[3])
    )
    assert digest(database)["audit_ok"]


def test_a_lone_call_goes_at_once_and_its_sent_at_with_the_next_wave(database: Database) -> None:
    gw = Gateway()
    m = oms(database, gw)
    inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
    loop = OmsLoop(m, inbox, tick_every=60, settle=0.0)
    loop.step(0)  # the first tick, now: the next is a minute away
    [oid] = m.create(drafts(BUYS[:1], "buy"))
    call = loop.route([oid])
    loop.step(5.0)  # returns at once: the call woke it
    assert call.result(timeout=0).sent == [oid]
    with database.session() as s:
        assert m.ctx.unstamped and s.get_one(Order, oid).sent_at is None  # written by the next wave
    [n] = [x for x in gw.sent if isinstance(x, NewOrder)]
    for r in reports([n], cl_ids(database)):
        inbox.put(r)
    loop.step(0)
    assert not m.ctx.unstamped
    with database.session() as s:
        o = s.get_one(Order, oid)
        assert o.status == "filled" and o.sent_at is not None


def test_each_call_is_told_the_outcome_of_its_own_orders() -> None:
    a, b, c = RouteCall((1, 2)), RouteCall((2,)), RouteCall((3, 4))
    parts = share(RouteResult([1, 2], [3], [4], {4: "held replace"}), [a, b, c])
    assert parts[id(a)] == RouteResult([1, 2], [], [], {})
    assert parts[id(b)] == RouteResult([2], [], [], {})
    assert parts[id(c)] == RouteResult([], [3], [4], {4: "held replace"})


def test_an_idle_tick_writes_the_sent_at_no_wave_wrote(database: Database) -> None:
    gw = Gateway()
    m = oms(database, gw)
    loop = OmsLoop(m, queue.SimpleQueue(), tick_every=0.0, settle=0.0)
    [oid] = m.create(drafts(BUYS[:1], "buy"))
    call = loop.route([oid])
    loop.step(0)  # routes, then ticks (no report came)
    assert call.result(timeout=0).sent == [oid]
    loop.step(0)
    assert not m.ctx.unstamped
    with database.session() as s:
        assert s.get_one(Order, oid).sent_at is not None


def test_a_wave_takes_at_most_its_cap_of_calls_and_the_rest_go_next_step_without_a_wait(
    database: Database,
) -> None:
    gw = Gateway()
    m = oms(database, gw)
    loop = OmsLoop(m, queue.SimpleQueue(), tick_every=60, settle=0.0, wave=2)
    ids = m.create(drafts(BUYS[:3] + SELLS[:1], "buy"))
    calls = [loop.route([i]) for i in ids]
    loop.step(0)
    assert [c.done() for c in calls] == [True, True, False, False]
    assert len([x for x in gw.sent if isinstance(x, NewOrder)]) == 2
    waits: list[float] = []
    take = loop._take
    loop._take = lambda timeout: waits.append(timeout) or take(timeout)  # type: ignore[method-assign]
    loop.step(5.0)  # calls wait: the step does not sleep on the inbox first
    assert waits == [0.0]
    assert all(c.done() for c in calls) and loop.routed == 4
    assert sorted(i for c in calls for i in c.result().sent) == sorted(ids)
