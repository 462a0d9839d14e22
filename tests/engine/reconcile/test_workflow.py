"""Working a break: owner, status, comments, age in business days, resolution; a book adjustment
needs a second person with the approval permission, is booked by the accounting engine, and
lands in the audit chain. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from engine.access.errors import SegregationOfDuties
from engine.accounting.tables import Booking
from engine.audit.verify import verify_chain
from engine.errors import PermissionDenied
from engine.reconcile import queries, workflow
from engine.reconcile.errors import BreakWorkflowError
from engine.reconcile.run import reconcile
from engine.reconcile.tables import Adjustment, Break
from engine.store.people import AuditEntry
from engine.store.positions import CashBalance, TaxLot
from tests.engine.reconcile.minibook import IDS, build, statement

US, UK = "A000001", "A000002"
AS_OF = date(2026, 10, 30)  # a Friday


def _setup(database):  # type: ignore[no-untyped-def]
    ids = build(database)
    # The custodian holds 120 AAA where the book has 100, and 480 VODX.L where the book has 500.
    statement(database, AS_OF, [(US, "ISIN", IDS["AAA"]["isin"], 120), (US, "ISIN", IDS["BPX"]["isin"], 10),
                                (UK, "ISIN", IDS["VODX.L"]["isin"], 480), (UK, "ISIN", IDS["BPX.L"]["isin"], 60)])  # fmt: skip
    with database.transaction() as s:
        reconcile(s, AS_OF, run_by="olivia.ops")
    with database.session() as s:
        aaa = s.scalars(select(Break).where(Break.account_code == US, Break.security_ref == "AAA")).one()
        vod = s.scalars(select(Break).where(Break.account_code == UK, Break.security_ref == "VODX.L")).one()
        return ids, aaa.id, vod.id


def test_owner_status_comments_age_and_resolution(database) -> None:  # type: ignore[no-untyped-def]
    _, aaa, vod = _setup(database)
    with database.transaction() as s:
        workflow.assign(s, vod, "olivia.ops", by="olivia.ops")
        workflow.set_status(s, vod, "investigating", by="olivia.ops")
        workflow.comment(s, vod, "olivia.ops", "custodian confirms a late delivery")
        with pytest.raises(BreakWorkflowError):
            workflow.set_status(s, vod, "resolved", by="olivia.ops")
        with pytest.raises(BreakWorkflowError):
            workflow.resolve(s, vod, "book_adjustment", by="olivia.ops")
    with database.session() as s:
        rows = queries.list_breaks(s, until=date(2026, 11, 4), owner="olivia.ops")
        assert [(r.id, r.status, r.type, r.difference) for r in rows] == [
            (vod, "investigating", "quantity", Decimal(-20))
        ]
        # Opened Friday 30 Oct; London sessions Mon 2, Tue 3, Wed 4 Nov: three business days.
        assert rows[0].age == 3
        assert queries.list_breaks(s, until=date(2026, 11, 4), min_age=4) == []
        d = queries.break_detail(s, vod)
        assert [c["text"] for c in d.comments] == ["custodian confirms a late delivery"]
        assert [ln["quantity"] for ln in d.statement_lines] == ["480.000000"] or float(
            d.statement_lines[0]["quantity"]
        ) == 480
        assert [float(lot["quantity"]) for lot in d.lots] == [500.0]
    with database.transaction() as s:
        workflow.resolve(s, vod, "custodian_error", by="olivia.ops", note="custodian will correct")
        with pytest.raises(BreakWorkflowError):
            workflow.resolve(s, vod, "timing", by="olivia.ops")
    with database.session() as s:
        b = s.get(Break, vod)
        assert (b.status, b.resolution, b.resolved_by) == ("resolved", "custodian_error", "olivia.ops")
        assert [r.id for r in queries.list_breaks(s)] == [aaa]


def test_book_adjustment_needs_a_second_person_and_is_audited(database) -> None:  # type: ignore[no-untyped-def]
    ids, aaa, _ = _setup(database)
    with database.transaction() as s:
        adj = workflow.propose_adjustment(
            s,
            aaa,
            "cora.compliance",
            "trade",
            {"side": "buy", "symbol": "AAA", "quantity": "20", "price": "10", "date": "2026-10-30"},
        )
        adj_id = adj.id
    with database.transaction() as s, pytest.raises(SegregationOfDuties):
        workflow.approve_adjustment(s, adj_id, "cora.compliance")  # her own: four-eyes
    with pytest.raises(PermissionDenied), database.transaction() as s:
        workflow.approve_adjustment(s, adj_id, "olivia.ops")  # ops may propose, not approve
    with pytest.raises(PermissionDenied), database.transaction() as s:
        workflow.approve_adjustment(s, adj_id, "pat.pm")
    with database.session() as s:
        assert s.get(Adjustment, adj_id).status == "proposed"
        assert s.scalar(select(func.count()).select_from(Booking)) == 0
    with database.transaction() as s:
        res = workflow.approve_adjustment(s, adj_id, "cole.compliance", reason="confirmed with custodian")
    assert res.booking_ref == f"RECON-ADJ-{adj_id}"
    with database.session() as s:
        booking = s.scalars(select(Booking).where(Booking.source_ref == res.booking_ref)).one()
        assert (booking.side, Decimal(booking.quantity), booking.trade_date) == ("buy", Decimal(20), AS_OF)
        qty = s.scalar(select(func.sum(TaxLot.quantity)).where(TaxLot.security_id == ids["AAA"]))
        assert Decimal(qty) == Decimal(120)
        b = s.get(Break, aaa)
        assert (b.status, b.resolution, b.resolved_by) == ("resolved", "book_adjustment", "cole.compliance")
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert "reconcile.adjustment.propose" in actions and "reconcile.adjustment.approve" in actions
        assert "permission.denied" in actions  # the PM's refused approval stays on record
        assert "reconcile.adjustment.self_refused" in actions  # so does cora's own
        approve = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "reconcile.adjustment.approve")
        ).one()
        assert approve.username == "cole.compliance" and approve.after["booking_ref"] == res.booking_ref
        assert verify_chain(s).ok
    # The next run finds the AAA position matched again: nothing open for it.
    with database.transaction() as s:
        r = reconcile(s, AS_OF, run_by="olivia.ops").results
    row = r[(r["account_code"] == US) & (r["security_ref"] == "AAA")]
    assert row["outcome"].tolist() == ["matched"]
    with database.transaction() as s, pytest.raises(BreakWorkflowError):
        workflow.approve_adjustment(s, adj_id, "cole.compliance")


def test_cash_adjustment_and_rejection(database) -> None:  # type: ignore[no-untyped-def]
    _, aaa, vod = _setup(database)
    with database.transaction() as s:
        with pytest.raises(BreakWorkflowError):
            workflow.propose_adjustment(
                s, vod, "olivia.ops", "cash", {"currency": "XXQ", "amount": "5", "date": "2026-10-30"}
            )
        a1 = workflow.propose_adjustment(
            s, vod, "olivia.ops", "cash", {"currency": "GBP", "amount": "-12.5", "date": "2026-10-30"}
        ).id
        a2 = workflow.propose_adjustment(
            s,
            aaa,
            "olivia.ops",
            "trade",
            {"side": "buy", "symbol": "AAA", "quantity": "1", "price": "1", "date": "2026-10-30"},
        ).id
    with database.transaction() as s:
        workflow.reject_adjustment(s, a2, "cora.compliance", "wrong quantity")
        workflow.approve_adjustment(s, a1, "cora.compliance")
    with database.session() as s:
        assert s.get(Adjustment, a2).status == "rejected"
        assert s.get(Break, aaa).status == "open"
        assert s.get(Adjustment, a1).status == "booked"
        bal = s.scalars(select(CashBalance).where(CashBalance.currency == "GBP")).one()
        assert Decimal(bal.settled) == Decimal("-12.5")
