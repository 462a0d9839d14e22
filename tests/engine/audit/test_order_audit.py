"""Every order state change reaches the audit chain in its transaction, bulk block paths too."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import insert, select, update

from engine.audit.verify import verify_chain
from engine.clock import ManualClock
from engine.errors import NotFound
from engine.oms.drafts import OrderDraft
from engine.oms.messages import ExecReport
from engine.oms.service import OrderManager
from engine.oms.tables import Order, OrderEvent
from engine.store.database import Database
from engine.store.people import AuditEntry
from tests.engine.oms.book import Gateway, PassAll, RecordingBooker, make_book, make_oms
from workstation.cli.main import main

OPEN = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture
def oms(database: Database) -> Iterator[OrderManager]:
    make_book(database)
    yield make_oms(
        database, gateway=Gateway(), checker=PassAll(), booker=RecordingBooker(), clock=ManualClock(OPEN)
    )


def er(
    cl: str, exec_id: str, exec_type: str, status: str, cum: int, leaves: int, last: int = 0
) -> ExecReport:
    px = Decimal("1000") if last else Decimal(0)
    return ExecReport(
        broker="SIM", exec_id=exec_id, exec_type=exec_type, ord_status=status, cl_ord_id=cl,
        last_qty=Decimal(last), last_px=px, cum_qty=Decimal(cum), leaves_qty=Decimal(leaves),
        avg_px=px, transact_time=OPEN,
    )  # fmt: skip


def _events(db: Database) -> Counter[tuple[str, str | None, str, str, str]]:
    with db.session() as s:
        return Counter(
            (str(e.order_id), e.status_from, e.status_to, e.kind, e.username or "oms")
            for e in s.scalars(select(OrderEvent))
        )


def _audited(db: Database) -> Counter[tuple[str, str | None, str, str, str]]:
    with db.session() as s:
        q = select(AuditEntry).where(AuditEntry.action == "order.state")
        return Counter(
            (a.entity_id, a.before["status"], a.after["status"], a.after["event"], a.username)
            for a in s.scalars(q)
        )


def test_each_transition_is_in_the_chain_and_tampering_is_detected(
    oms: OrderManager, capsys: pytest.CaptureFixture[str]
) -> None:
    db = oms.database
    ids = oms.create([OrderDraft("ACC1", "7203.T", "buy", Decimal(q), broker="SIM") for q in (300, 700)])
    [bid] = oms.build_blocks(ids)  # children move to in_block by a bulk insert
    oms.route([bid], outside_hours=True)
    with db.session() as s:
        cl = s.get(Order, bid).cl_ord_id  # type: ignore[union-attr]
    oms.apply(er(cl, "B1", "0", "0", 0, 1000))
    oms.apply(er(cl, "B2", "F", "1", 400, 600, 400))
    oms.apply(er(cl, "B3", "F", "2", 1000, 0, 600))  # the children end through allocation
    events = _events(db)
    assert sum(events.values()) >= 10
    assert _audited(db) == events
    with db.session() as s:
        child = Counter(
            (a.before["status"], a.after["status"])
            for a in s.scalars(select(AuditEntry).where(AuditEntry.entity_id == str(ids[0])))
        )
        assert child[("released", "in_block")] == 1
        assert s.scalars(select(AuditEntry).where(AuditEntry.entity_id == str(bid))).first().username == "oms"  # type: ignore[union-attr]
        assert verify_chain(s).ok
        url = db.engine.url.render_as_string(hide_password=False)
        assert main(["--db", url, "audit", "verify"]) == 0
        assert "audit chain intact" in capsys.readouterr().out
        victim = s.scalars(
            select(AuditEntry.id).where(AuditEntry.entity_id == str(bid), AuditEntry.action == "order.state")
        ).all()[-1]
    with db.transaction() as s:  # someone edits the stored entry behind the application's back
        s.execute(update(AuditEntry).where(AuditEntry.id == victim).values(after={"status": "cancelled"}))
    with db.session() as s:
        report = verify_chain(s)
    assert not report.ok and report.first_broken_id == victim
    url = db.engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "audit", "verify", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["first_broken_id"] == victim


def test_a_rolled_back_change_leaves_no_audit_entry(oms: OrderManager) -> None:
    with pytest.raises(NotFound):
        oms.create(
            [OrderDraft("ACC1", "AAPL", "buy", Decimal(1)), OrderDraft("NOPE", "AAPL", "buy", Decimal(1))]
        )
    oms.create([OrderDraft("ACC2", "AAPL", "buy", Decimal(5), broker="SIM")])
    assert _audited(oms.database) == _events(oms.database)
    assert sum(_events(oms.database).values()) == 1
    with oms.database.session() as s:
        assert verify_chain(s).ok


def test_events_of_a_rolled_back_savepoint_are_not_audited(oms: OrderManager) -> None:
    import engine.oms.journal  # noqa: F401  (registers the hook, as the OMS does)

    [oid] = oms.create([OrderDraft("ACC1", "AAPL", "buy", Decimal(5), broker="SIM")])
    db = oms.database
    with db.transaction() as s:
        s.add(OrderEvent(order_id=oid, kind="kept", status_from="released", status_to="released"))
        with pytest.raises(RuntimeError), s.begin_nested():
            s.add(OrderEvent(order_id=oid, kind="dropped", status_from="released", status_to="held"))
            s.flush()
            raise RuntimeError("this message fails")
        with s.begin_nested():
            s.execute(
                insert(OrderEvent.__table__),
                [{"order_id": oid, "kind": "bulk", "status_from": "released", "status_to": "released",
                  "at": OPEN}],
            )  # fmt: skip
    assert _audited(db) == _events(db)
    assert {k[3] for k in _audited(db)} == {"created", "kept", "bulk"}
