"""Each desk machine (proposals, approval cases, breaks, adjustments): a legal edge moves the row
and writes its audit entry in the same transaction (both kept, or both rolled back), and an edge
the table lacks changes nothing and writes nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from engine.audit.verify import verify_chain
from engine.compliance.tables import ApprovalCase
from engine.errors import InvalidTransition
from engine.rebalance.bulk import persist
from engine.rebalance.tables import Proposal
from engine.reconcile.tables import Break
from engine.shared.errors import ConcurrentChange
from engine.state.breaks import BREAKS
from engine.state.cases import CASES
from engine.state.proposals import PROPOSALS
from engine.store.database import Database
from engine.store.people import AuditEntry
from tests.engine.reconcile.minibook import build


class Boom(Exception):
    """Raised after a move to roll its transaction back."""


def _entries(db: Database, entity: str, entity_id: object) -> list[tuple[str, str, Any, Any]]:
    with db.session() as s:
        rows = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == entity, AuditEntry.entity_id == str(entity_id))
            .order_by(AuditEntry.id)
        )
        return [(e.action, e.username, e.before, e.after) for e in rows]


def _value(db: Database, model: Any, ident: int, attr: str = "status") -> str:
    with db.session() as s:
        return str(getattr(s.get(model, ident), attr))


def _moves_with_its_entry_or_not_at_all(db: Database, model: Any, ident: int, machine: Any, event: str,
                                        entity: str, entity_id: object, **kw: Any) -> str:  # fmt: skip
    """Fire `event` in a transaction that then fails (nothing kept), then in one that commits."""
    attr = machine.attr
    was, n = _value(db, model, ident, attr), len(_entries(db, entity, entity_id))
    with pytest.raises(Boom), db.transaction() as s:
        machine.fire(s, s.get(model, ident), event, **kw)
        raise Boom
    assert _value(db, model, ident, attr) == was and len(_entries(db, entity, entity_id)) == n
    with db.transaction() as s:
        now = machine.fire(s, s.get(model, ident), event, **kw)
    assert _value(db, model, ident, attr) == now
    assert len(_entries(db, entity, entity_id)) == n + 1
    return now


def _refused(
    db: Database, model: Any, ident: int, machine: Any, event: str, entity: str, entity_id: object
) -> None:
    was, n = _value(db, model, ident, machine.attr), len(_entries(db, entity, entity_id))
    with pytest.raises(InvalidTransition), db.transaction() as s:
        machine.fire(s, s.get(model, ident), event, actor="someone")
    assert _value(db, model, ident, machine.attr) == was and len(_entries(db, entity, entity_id)) == n


def test_proposals_are_created_and_moved_only_with_their_audit_entries(database: Database) -> None:
    build(database)
    with database.session() as s:
        from engine.store.accounts import Account

        aid = s.scalars(select(Account.id).order_by(Account.id)).first()
    records = [{"account_id": aid, "status": st, "reason": st, "trades": []} for st in ("ok", "infeasible")]
    persist(database, "B1", records, "pat.pm", "rebalance")
    with database.session() as s:
        ok, bad = s.scalars(select(Proposal.id).where(Proposal.batch_id == "B1").order_by(Proposal.id)).all()
    assert _entries(database, "proposal", ok) == [
        (
            "proposal.create",
            "pat.pm",
            None,
            {"status": "ok", "batch": "B1", "account_id": aid, "mode": "rebalance"},
        )
    ]
    with pytest.raises(InvalidTransition):  # a status a solve never produces
        persist(database, "B2", [{"account_id": aid, "status": "released", "reason": "", "trades": []}],
                "pat.pm", "rebalance")  # fmt: skip
    with database.session() as s:
        assert s.scalars(select(Proposal).where(Proposal.batch_id == "B2")).all() == []
    _refused(database, Proposal, ok, PROPOSALS, "release", "proposal", ok)  # accept it first
    _refused(database, Proposal, bad, PROPOSALS, "accept", "proposal", bad)  # an infeasible solve
    assert _moves_with_its_entry_or_not_at_all(database, Proposal, ok, PROPOSALS, "accept", "proposal", ok,
                                               actor="pat.pm") == "accepted"  # fmt: skip
    assert _entries(database, "proposal", ok)[-1] == (
        "proposal.accept", "pat.pm", {"status": "ok"}, {"status": "accepted"}
    )  # fmt: skip
    _refused(database, Proposal, ok, PROPOSALS, "accept", "proposal", ok)
    # A desk that read the proposal before the accept loses: ConcurrentChange, nothing written.
    with database.session() as stale:
        seen = stale.get(Proposal, ok)
        assert seen is not None
        with database.transaction() as s:
            PROPOSALS.fire(s, s.get(Proposal, ok), "release", actor="tara.trader")
        n = len(_entries(database, "proposal", ok))
        with pytest.raises(ConcurrentChange):
            PROPOSALS.fire(stale, seen, "reject", actor="pat.pm", reason="late")
        stale.rollback()
    assert _value(database, Proposal, ok) == "released" and len(_entries(database, "proposal", ok)) == n
    with database.session() as s:
        assert verify_chain(s).ok


def test_approval_cases_move_only_with_their_audit_entries(database: Database) -> None:
    with database.transaction() as s:
        case = ApprovalCase(entity="order", entity_id="77", created_by="tara.trader", terms=[])
        CASES.start(s, case, "draft", actor="tara.trader", event="open")
        cid = case.id
    with pytest.raises(InvalidTransition), database.transaction() as s:
        CASES.start(s, ApprovalCase(entity="order", entity_id="78", created_by="x", terms=[]), "approved",
                    actor="x", event="open")  # fmt: skip
    _refused(database, ApprovalCase, cid, CASES, "release", "approval:order", "77")  # never checked
    _refused(database, ApprovalCase, cid, CASES, "approve", "approval:order", "77")
    for event, want in (("checked", "checked"), ("pending", "pending_approval"), ("approve", "approved"),
                        ("release", "released"), ("pending", "pending_approval")):  # fmt: skip
        assert _moves_with_its_entry_or_not_at_all(database, ApprovalCase, cid, CASES, event, "approval:order",
                                                   "77", actor="cora.compliance") == want  # fmt: skip
    acts = _entries(database, "approval:order", "77")
    assert [a for a, *_ in acts] == ["approval.open", "approval.checked", "approval.pending", "approval.approve",
                                     "approval.release", "approval.pending"]  # fmt: skip
    assert acts[3][2:] == (
        {"state": "pending_approval", "outcome": None},
        {"state": "approved", "outcome": None},
    )


def test_breaks_move_only_with_their_audit_entries(database: Database) -> None:
    build(database)
    with database.transaction() as s:
        b = Break(key="k", as_of=date(2026, 10, 30), custodian="C", account_code="A000001", break_type="quantity",
                  opened_on=date(2026, 10, 30), last_seen=date(2026, 10, 30))  # fmt: skip
        BREAKS.start(s, b, "open", actor="olivia.ops", event="open")
        bid = b.id
    _refused(database, Break, bid, BREAKS, "reappear", "recon_break", bid)  # it is not resolved
    _refused(database, Break, bid, BREAKS, "reopen", "recon_break", bid)
    assert _moves_with_its_entry_or_not_at_all(database, Break, bid, BREAKS, "investigate", "recon_break", bid,
                                               actor="olivia.ops") == "investigating"  # fmt: skip
    assert _moves_with_its_entry_or_not_at_all(
        database, Break, bid, BREAKS, "resolve", "recon_break", bid, actor="olivia.ops",
        also={"resolution": "timing", "resolved_by": "olivia.ops"},
    ) == "resolved"  # fmt: skip
    _refused(database, Break, bid, BREAKS, "resolve", "recon_break", bid)
    assert _value(database, Break, bid, "resolution") == "timing"
    with database.transaction() as s:  # found again by a run, as an explained line
        assert BREAKS.fire(s, s.get(Break, bid), "reappear", actor="olivia.ops", facts={"explained": True},
                           also={"resolution": None, "resolved_by": None}) == "explained"  # fmt: skip
    acts = _entries(database, "recon_break", bid)
    assert [a for a, *_ in acts] == ["reconcile.break.open", "reconcile.break.status", "reconcile.break.resolve",
                                     "reconcile.break.reappear"]  # fmt: skip
    assert acts[2][2:] == (
        {"status": "investigating", "owner": None, "resolution": None, "resolved_by": None},
        {"status": "resolved", "owner": None, "resolution": "timing", "resolved_by": "olivia.ops"},
    )
