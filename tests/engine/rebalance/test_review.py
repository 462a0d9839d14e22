"""A PM accepts or rejects a proposal: the status moves, the audit chain records it, and bad
requests (wrong role, unknown id, no reason, a failed solve) change nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

import resources
from engine.demo.build import build_demo_book
from engine.errors import InvalidTransition, NotFound, PermissionDenied, WorkstationError
from engine.rebalance.review import review
from engine.rebalance.tables import Proposal
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.people import AuditEntry


@pytest.fixture
def proposals(database: Database) -> tuple[Database, int, int]:
    build_demo_book(database, resources.path("reference"), accounts=2, seed=3, today=date(2026, 11, 22))
    with database.transaction() as s:
        aid = s.scalars(select(Account.id).order_by(Account.id)).first()
        ok = Proposal(
            batch_id="b1",
            account_id=aid,
            mode="rebalance",
            status="ok",
            created_by="pat.pm",
            payload={"trades": [{"symbol": "X", "side": "buy", "quantity": 1}]},
        )
        bad = Proposal(batch_id="b1", account_id=aid, mode="rebalance", status="infeasible",
                       created_by="pat.pm", payload={})  # fmt: skip
        s.add_all([ok, bad])
        s.flush()
        return database, ok.id, bad.id


def status(database: Database, pid: int) -> str:
    with database.session() as s:
        return s.get(Proposal, pid).status  # type: ignore[union-attr]


def actions(database: Database, pid: int) -> list[tuple[str, str, str | None]]:
    with database.session() as s:
        rows = s.execute(
            select(AuditEntry.action, AuditEntry.username, AuditEntry.reason)
            .where(AuditEntry.entity == "proposal", AuditEntry.entity_id == str(pid))
            .order_by(AuditEntry.id)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_review_moves_status_audits_and_refuses_bad_requests(proposals: tuple[Database, int, int]) -> None:
    """One book per backend (building it is the slow part), so one test walks every case."""
    database, ok, bad = proposals
    cases = [
        (("tara.trader", ok, "accept"), PermissionDenied),
        (("pat.pm", 999_999, "accept"), NotFound),
        (("pat.pm", ok, "approve"), WorkstationError),
        (("pat.pm", ok, "reject", "  "), WorkstationError),
        (("pat.pm", bad, "accept"), InvalidTransition),
    ]
    for args, exc in cases:
        with pytest.raises(exc), database.transaction() as s:
            review(s, *args)  # type: ignore[arg-type]
    assert status(database, ok) == "ok"
    assert status(database, bad) == "infeasible"
    assert actions(database, ok) == [] and actions(database, bad) == []

    with database.transaction() as s:
        assert review(s, "pat.pm", ok, "accept") == "accepted"
    assert status(database, ok) == "accepted"
    with pytest.raises(InvalidTransition), database.transaction() as s:
        review(s, "pat.pm", ok, "accept")  # already accepted
    with database.transaction() as s:
        assert review(s, "pat.pm", ok, "reject", "client called: hold") == "rejected"
    assert status(database, ok) == "rejected"
    assert actions(database, ok) == [
        ("proposal.accept", "pat.pm", None),
        ("proposal.reject", "pat.pm", "client called: hold"),
    ]

    # Two PMs on the same proposal: the second had read it before the first decided, so its
    # decision loses (version check), says what the proposal is now, and keeps nothing.
    from engine.shared.errors import ConcurrentChange

    with database.session() as stale:
        seen = stale.get(Proposal, ok)  # PM 2 reads the proposal (rejected, this version)
        assert seen is not None and seen.status == "rejected"
        with database.transaction() as s:
            review(s, "pat.pm", ok, "accept")  # PM 1 decides first
        with pytest.raises(ConcurrentChange, match="accepted"):
            review(stale, "pat.pm", ok, "accept")
        stale.rollback()
    assert status(database, ok) == "accepted"
    assert [a for a, _, _ in actions(database, ok)].count("proposal.accept") == 2  # PM 1's twice only
