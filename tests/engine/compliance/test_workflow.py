"""Approvals: four-eyes, two-approver overrides, release rules, re-check of changed orders,
and the kill switch; on SQLite and PostgreSQL, with the rules seeded by the migration."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.access.errors import SegregationOfDuties
from engine.audit.verify import verify_chain
from engine.compliance import approvals, killswitch
from engine.compliance.tables import CheckResult
from engine.errors import ComplianceBlocked, InvalidTransition, PermissionDenied
from engine.oms.tables import Order
from engine.ports import OrderIntent
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.people import AuditEntry
from engine.store.reference import Security


def _order(db: Database, account: str, symbol: str, side: str, q: int, limit: str | None = None) -> int:
    with db.transaction() as s:
        o = Order(
            cl_ord_id=f"T-{account}-{symbol}-{side}-{q}-{limit}",
            account_id=s.scalar(select(Account.id).where(Account.code == account)),
            security_id=s.scalar(select(Security.id).where(Security.symbol == symbol)),
            side=side, quantity=Decimal(q), order_type="limit" if limit else "market",
            limit_price=Decimal(limit) if limit else None, time_in_force="day", currency="USD",
            status="released", created_by="tr1",
        )  # fmt: skip
        s.add(o)
        s.flush()
        return o.id


def _actions(db: Database) -> list[str]:
    with db.session() as s:
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_clean_order_is_checked_and_released_without_approval(book_db: Database) -> None:
    oid = _order(book_db, "U1", "AAA", "sell", 10)
    with book_db.transaction() as s:
        case = approvals.submit(s, "tr1", "order", oid)
        assert (case.state, case.outcome) == ("checked", "pass")
        case = approvals.release(s, "pm1", case.id)
        assert case.state == "released"
        assert approvals.assert_routable(s, "tr1", oid).state == "released"
        stored = s.scalars(select(CheckResult).where(CheckResult.entity_id == str(oid))).all()
        assert len(stored) == 23 and {r.outcome for r in stored} == {"pass"}
    assert _actions(book_db) == ["approval.open", "approval.checked", "approval.release"]
    with book_db.session() as s:
        assert verify_chain(s).ok


def test_self_approval_is_refused_and_audited(book_db: Database) -> None:
    with book_db.transaction() as s:
        case = approvals.submit(
            s, "tr1", "order", "X1", [OrderIntent("U1", "AAA", "buy", Decimal(10))], created_by="co1"
        )
        assert (case.state, case.outcome) == ("pending_approval", "flag")
    with pytest.raises(SegregationOfDuties), book_db.transaction() as s:
        approvals.decide(s, "co1", case.id, "approve", "risk_accepted", "my own")
    assert _actions(book_db)[-1] == "approval.self_refused"  # kept although the caller rolled back
    with book_db.transaction() as s:
        assert approvals.decide(s, "co2", case.id, "approve", "risk_accepted", "ok").state == "approved"
        # A PM cannot release a flagged order; a trader can.
        with pytest.raises(PermissionDenied):
            approvals.release(s, "pm1", case.id)
        assert approvals.release(s, "tr1", case.id).state == "released"


def test_hard_block_override_needs_two_distinct_compliance_users(book_db: Database) -> None:
    with book_db.transaction() as s:
        case = approvals.submit(s, "tr1", "order", "X2", [OrderIntent("U1", "BBB", "buy", Decimal(10))])
        assert case.outcome == "block" and case.hard_block and case.state == "pending_approval"
    with book_db.transaction() as s:
        first = approvals.decide(s, "co1", case.id, "approve", "client_instruction", "client insists")
        assert first.state == "pending_approval" and first.approvals == 1
    with pytest.raises(SegregationOfDuties), book_db.transaction() as s:
        approvals.decide(s, "co1", case.id, "approve", "client_instruction", "again")
    assert _actions(book_db)[-1] == "approval.second_refused"
    with pytest.raises(PermissionDenied), book_db.transaction() as s:
        approvals.decide(s, "ad1", case.id, "approve", "client_instruction", "admin is not compliance")
    with book_db.transaction() as s:
        second = approvals.decide(s, "co2", case.id, "approve", "client_instruction", "agreed")
        assert second.state == "approved" and second.approvals == 2
    acts = _actions(book_db)
    assert "approval.override_first" in acts and "approval.override" in acts
    with book_db.session() as s:
        d = approvals.case_detail(s, case.id)
    assert [x["user"] for x in d["decisions"]] == ["co1", "co2"] and all(
        x["override"] for x in d["decisions"]
    )
    esg = [r for r in d["results"] if r["rule"] == "ESG-SCREEN"]
    assert esg[0]["outcome"] == "block" and "fossil_fuels" in esg[0]["message"] and len(d["results"]) == 23
    with book_db.session() as s:
        assert verify_chain(s).ok


def test_creator_of_a_blocked_trade_cannot_be_one_of_the_override_approvers(book_db: Database) -> None:
    with book_db.transaction() as s:
        case = approvals.submit(
            s, "tr1", "order", "X3", [OrderIntent("U1", "BBB", "buy", Decimal(1))], created_by="co2"
        )
    with pytest.raises(SegregationOfDuties), book_db.transaction() as s:
        approvals.decide(s, "co2", case.id, "approve", "other", "")
    with book_db.transaction() as s:
        approvals.decide(s, "co1", case.id, "approve", "other", "")
        assert approvals.decide(s, "co3", case.id, "approve", "other", "").state == "approved"


def test_rejection_needs_a_known_reason_code_and_ends_the_case(book_db: Database) -> None:
    with book_db.transaction() as s:
        case = approvals.submit(s, "tr1", "order", "X4", [OrderIntent("U1", "AAA", "buy", Decimal(10))])
        with pytest.raises(Exception, match="reason code"):
            approvals.decide(s, "co1", case.id, "reject", "because")
        assert (
            approvals.decide(s, "co1", case.id, "reject", "policy_breach", "too concentrated").state
            == "rejected"
        )
        with pytest.raises(InvalidTransition):
            approvals.release(s, "tr1", case.id)


def test_changed_released_order_is_rechecked_before_routing(book_db: Database) -> None:
    oid = _order(book_db, "U1", "AAA", "sell", 10, "99")
    with book_db.transaction() as s:
        case = approvals.submit(s, "tr1", "order", oid)
        approvals.release(s, "tr1", case.id)
    # Tighter: fewer shares and a higher sell limit -> no re-check needed.
    with book_db.transaction() as s:
        o = s.get(Order, oid)
        o.quantity, o.limit_price = Decimal(5), Decimal("99.5")
    with book_db.transaction() as s:
        approvals.assert_routable(s, "tr1", oid)
    assert "approval.recheck" not in _actions(book_db)
    # Looser: more shares than held -> re-checked, blocked (no shorts), back to pending approval.
    with book_db.transaction() as s:
        s.get(Order, oid).quantity = Decimal(150)
    with (
        pytest.raises(ComplianceBlocked, match="quantity up from 10 to 150") as err,
        book_db.transaction() as s,
    ):
        approvals.assert_routable(s, "tr1", oid)
    assert "short 50" in str(err.value)
    # Raising rolled the move back; check_routable returns the verdict and the commit keeps it.
    with book_db.transaction() as s:
        verdict = approvals.check_routable(s, "tr1", oid)
        assert not verdict.ok and "needs approval again" in verdict.reason
    with book_db.session() as s:
        case_row = approvals.find_case(s, "order", oid)
        assert case_row is not None and case_row.state == "pending_approval" and case_row.outcome == "block"
        assert verify_chain(s).ok
    assert "approval.recheck" in _actions(book_db)


def test_kill_switch_stops_routing_by_firm_desk_and_account_and_is_reversible(book_db: Database) -> None:
    with book_db.transaction() as s:
        assert all(killswitch.routing_allowed(s, a) for a in ("U1", "U2", "G1"))
        desk = killswitch.engage(s, "co1", "desk", "D1", "desk D1 algo misbehaving")
    with book_db.session() as s:
        assert [killswitch.routing_allowed(s, a) for a in ("U1", "U2", "G1")] == [False, False, True]
    with book_db.transaction() as s:
        acct = killswitch.engage(s, "ad1", "account", "G1", "client dispute")
        killswitch.release(s, "co2", desk.id, "fixed")
    with book_db.session() as s:
        assert [killswitch.routing_allowed(s, a) for a in ("U1", "U2", "G1")] == [True, True, False]
    with book_db.transaction() as s:
        firm = killswitch.engage(s, "co1", "firm", None, "market-wide halt")
        killswitch.release(s, "co1", acct.id, "resolved")
    with book_db.session() as s:
        assert not any(killswitch.routing_allowed(s, a) for a in ("U1", "U2", "G1"))
    # A released order cannot route while the switch is on.
    oid = _order(book_db, "U1", "AAA", "sell", 1)
    with book_db.transaction() as s:
        approvals.release(s, "tr1", approvals.submit(s, "tr1", "order", oid).id)
    with pytest.raises(ComplianceBlocked, match="market-wide halt"), book_db.session() as s:
        approvals.assert_routable(s, "tr1", oid)
    with book_db.transaction() as s:
        killswitch.release(s, "co1", firm.id, "halt over")
    with book_db.session() as s:
        assert killswitch.routing_allowed(s, "U1")
        approvals.assert_routable(s, "tr1", oid)
        hist = killswitch.switches(s, include_released=True)
    assert len(hist) == 3 and all(h["released_by"] for h in hist)
    acts = _actions(book_db)
    assert acts.count("killswitch.engage") == 3 and acts.count("killswitch.release") == 3
    with pytest.raises(PermissionDenied), book_db.transaction() as s:
        killswitch.engage(s, "tr1", "firm", None, "traders cannot")
