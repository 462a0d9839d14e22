"""The generic state engine: legal edges move and are audited in the same transaction; anything
else changes nothing (missing edge, missing actor, a journal that fails)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from engine.audit.verify import verify_chain
from engine.errors import InvalidTransition
from engine.state import Computed, StateMachine, Transition
from engine.store.accounts import Household
from engine.store.database import Database
from engine.store.people import AuditEntry

# A household's name as a stand-in status column: the machine is generic over the attribute.
TABLE = {
    ("draft", "submit"): "review",
    ("review", "approve"): "done",
    ("review", "bounce"): Computed("back", lambda obj, facts: facts.get("to", "draft")),
}
M = StateMachine("thing", TABLE, attr="name")


def _household(db: Database) -> int:
    with db.transaction() as s:
        h = Household(code="H1", name="draft")
        s.add(h)
        s.flush()
        return h.id


def _audit(db: Database) -> list[tuple[str, str, Any, Any]]:
    with db.session() as s:
        rows = s.execute(select(AuditEntry).where(AuditEntry.entity == "thing").order_by(AuditEntry.id))
        return [(e.action, e.username, e.before, e.after) for (e,) in rows]


def test_a_legal_edge_moves_and_writes_its_audit_entry(database: Database) -> None:
    hid = _household(database)
    with database.transaction() as s:
        assert M.fire(s, s.get(Household, hid), "submit", actor="ann", reason="ready") == "review"
    with database.transaction() as s:
        h = s.get(Household, hid)
        assert M.fire(s, h, "bounce", actor="bob", facts={"to": "draft"}) == "draft"
    with database.session() as s:
        assert s.get(Household, hid).name == "draft"
    assert _audit(database) == [
        ("thing.submit", "ann", {"status": "draft"}, {"status": "review"}),
        ("thing.bounce", "bob", {"status": "review"}, {"status": "draft"}),
    ]
    with database.session() as s:
        assert verify_chain(s).ok


@pytest.mark.parametrize("event", ["approve", "nonsense"])
def test_an_edge_the_table_lacks_changes_nothing(sqlite_database: Database, event: str) -> None:
    hid = _household(sqlite_database)
    with pytest.raises(InvalidTransition), sqlite_database.transaction() as s:
        M.fire(s, s.get(Household, hid), event, actor="ann")
    with sqlite_database.session() as s:
        assert s.get(Household, hid).name == "draft"
    assert _audit(sqlite_database) == []


def test_no_actor_no_move(sqlite_database: Database) -> None:
    hid = _household(sqlite_database)
    with pytest.raises(InvalidTransition), sqlite_database.transaction() as s:
        M.fire(s, s.get(Household, hid), "submit", actor="")
    with sqlite_database.session() as s:
        assert s.get(Household, hid).name == "draft"


def test_a_failing_journal_refuses_the_transition(sqlite_database: Database) -> None:
    def broken(session: Any, obj: Any, change: Transition) -> None:
        raise RuntimeError("audit store unavailable")

    m = StateMachine("thing", TABLE, attr="name", journal=broken)
    hid = _household(sqlite_database)
    with pytest.raises(RuntimeError), sqlite_database.transaction() as s:
        m.fire(s, s.get(Household, hid), "submit", actor="ann")
    with sqlite_database.session() as s:
        assert s.get(Household, hid).name == "draft"
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_table_queries() -> None:
    assert M.allows("draft", "submit") and not M.allows("draft", "approve")
    assert M.events_from("review") == ["approve", "bounce"]
    assert M.statuses() == {"draft", "review", "done"}
