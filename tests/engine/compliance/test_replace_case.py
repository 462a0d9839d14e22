"""A loosened replace held on an order without an approval case reaches the reviewers' queue, and
their decision releases or refuses it: once approved, the trader's one-key release (release_now,
Ctrl+L) sends it without re-typing; rejected, it stays refused (real OMS, real compliance, mini
book: U1 holds 100 AAA)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.audit.verify import verify_chain
from engine.clock import ManualClock
from engine.compliance import approvals
from engine.compliance.checker import ComplianceChecker
from engine.compliance.order_cases import OrderApprovalCases
from engine.compliance.replace_check import ComplianceReplaceCheck, approved_replaces
from engine.oms.drafts import OrderDraft
from engine.oms.errors import ReplaceHeld
from engine.oms.messages import ExecReport, ReplaceOrder
from engine.oms.service import OrderManager
from engine.oms.tables import Order
from engine.store.database import Database
from engine.store.people import AuditEntry
from tests.engine.oms.book import Gateway, make_oms

OPEN = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def _oms(db: Database) -> tuple[OrderManager, Gateway]:
    checker, gw = ComplianceChecker(), Gateway()
    m = make_oms(
        db, gateway=gw, checker=checker, clock=ManualClock(OPEN), recheck=ComplianceReplaceCheck(checker),
        cases=OrderApprovalCases(),
    )  # fmt: skip
    return m, gw


def _working(m: OrderManager, qty: int) -> int:
    draft = OrderDraft("U1", "AAA", "sell", Decimal(qty), "limit", Decimal("99"), broker="SIM")
    [oid] = m.create([draft], "tr1")
    assert m.route([oid], outside_hours=True).sent == [oid]
    with m.database.session() as s:
        cl = s.get(Order, oid).cl_ord_id  # type: ignore[union-attr]
    m.apply(
        ExecReport(
            broker="SIM", exec_id=f"N{oid}", exec_type="0", ord_status="0", cl_ord_id=cl,
            last_qty=Decimal(0), last_px=Decimal(0), cum_qty=Decimal(0), leaves_qty=Decimal(qty),
            avg_px=Decimal(0), transact_time=OPEN,
        )
    )  # fmt: skip
    return oid


def _queue(db: Database) -> list[dict[str, object]]:
    with db.session() as s:
        return approvals.queue(s)


def test_held_replace_opens_a_case_and_two_approvals_send_it(book_db: Database) -> None:
    m, gw = _oms(book_db)
    oid = _working(m, 50)
    with book_db.session() as s:
        assert approvals.find_case(s, "order", oid) is None  # released straight from the check
    with pytest.raises(ReplaceHeld, match=r"short 50.*approval case \d+ opened"):
        m.replace(oid, quantity=Decimal(150), username="tr1")
    [item] = _queue(book_db)
    assert (item["entity"], item["entity_id"], item["outcome"], item["hard_block"], item["created_by"]) == (
        "order", str(oid), "block", True, "tr1",
    )  # fmt: skip
    assert item["terms"][0]["quantity"] == "150"  # type: ignore[index]
    sent = len(gw.sent)
    # Asking again before a decision: still held, no second case.
    with pytest.raises(ReplaceHeld, match="waits for approval"):
        m.replace(oid, quantity=Decimal(150), username="tr1")
    with pytest.raises(ReplaceHeld, match="waits for approval"):
        m.release_now([oid], "tr1")  # released before the decision: still held
    assert len(gw.sent) == sent and len(_queue(book_db)) == 1
    # A hard block needs two distinct compliance approvers (the first leaves it pending).
    cid = int(item["id"])  # type: ignore[call-overload]
    with book_db.transaction() as s:
        approvals.decide(s, "co1", cid, "approve", "client_instruction", "client sells short by mandate")
    with pytest.raises(ReplaceHeld, match="waits for approval"):
        m.replace(oid, quantity=Decimal(150), username="tr1")
    with book_db.transaction() as s:
        assert approvals.decide(s, "co2", cid, "approve", "client_instruction").state == "approved"
    assert _queue(book_db) == []
    with book_db.session() as s:
        [ready] = approved_replaces(s)
    assert (ready.order_id, ready.case_id, ready.quantity, ready.limit_price) == (
        oid,
        cid,
        150,
        Decimal("99"),
    )
    # The trader's one-key release (Ctrl+L) sends the approved replace: nothing to re-type.
    result = m.release_now([oid], "tr1")
    assert (result.sent, result.refused) == ([oid], {})
    msg = gw.sent[-1]
    assert isinstance(msg, ReplaceOrder) and (msg.quantity, msg.limit_price) == (150, Decimal("99"))
    assert len(gw.sent) == sent + 1
    with book_db.session() as s:
        case = approvals.find_case(s, "order", oid)
        assert case is not None and case.state == "released"
        acts = [a for a in s.scalars(select(AuditEntry.action).where(AuditEntry.entity == "approval:order"))]
        assert acts[:3] == ["approval.open", "approval.checked", "approval.pending"]
        assert acts[-1] == "approval.release"
        assert verify_chain(s).ok
        assert approved_replaces(s) == []


def test_rejected_replace_stays_refused(book_db: Database) -> None:
    m, gw = _oms(book_db)
    oid = _working(m, 20)
    with pytest.raises(ReplaceHeld):
        m.replace(oid, quantity=Decimal(120), username="tr1")
    [item] = _queue(book_db)
    with book_db.transaction() as s:
        approvals.decide(s, "co1", int(item["id"]), "reject", "policy_breach", "no shorts")  # type: ignore[call-overload]
    sent = len(gw.sent)
    with pytest.raises(ReplaceHeld, match="rejected by compliance"):
        m.replace(oid, quantity=Decimal(120), username="tr1")
    with pytest.raises(ReplaceHeld, match="rejected by compliance"):
        m.release_now([oid], "tr1")  # the one-key release does not get around a rejection
    assert len(gw.sent) == sent
    with book_db.session() as s:
        o = s.get(Order, oid)
        assert o is not None and (o.status, o.quantity) == ("new", 20)
    # Different loosened terms go back to the queue on the same case.
    with pytest.raises(ReplaceHeld, match="approval case"):
        m.replace(oid, quantity=Decimal(110), username="tr1")
    [again] = _queue(book_db)
    assert again["id"] == item["id"] and again["terms"][0]["quantity"] == "110"  # type: ignore[index]


def test_release_now_mixes_market_held_orders_and_held_replaces(book_db: Database) -> None:
    """One command over both kinds of held order: each goes out its own way, refusals are listed."""
    m, gw = _oms(book_db)
    working = _working(m, 30)
    with pytest.raises(ReplaceHeld):
        m.replace(working, quantity=Decimal(130), username="tr1")  # short: held, case pending
    draft = OrderDraft("U1", "AAA", "sell", Decimal(5), "limit", Decimal("99"), broker="SIM")
    [closed] = m.create([draft], "tr1")
    m.clock.set(datetime(2026, 11, 23, 23, 0, tzinfo=UTC))  # type: ignore[attr-defined]  # NYSE closed
    assert m.route([closed]).held == [closed]
    before = len(gw.sent)
    result = m.release_now([closed, working], "tr1")
    assert result.sent == [closed] and list(result.refused) == [working]
    assert len(gw.sent) == before + 1 and not isinstance(gw.sent[-1], ReplaceOrder)
    assert "waits for approval" in result.refused[working]
    with book_db.session() as s:
        assert s.get(Order, closed).status == "pending_new"  # type: ignore[union-attr]
        o = s.get(Order, working)
        assert o is not None and (o.status, o.quantity) == ("new", 30)
    # An order holding nothing is refused by name, and nothing else moves.
    from engine.oms.errors import OrderRejected

    with pytest.raises(OrderRejected, match="holds nothing to release"):
        m.release_now([closed], "tr1")
