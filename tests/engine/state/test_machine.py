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


NEW = StateMachine("thing", TABLE, attr="name", initial=frozenset({"draft"}))


def test_a_new_thing_starts_in_an_initial_status_and_that_is_audited(database: Database) -> None:
    with database.transaction() as s:
        assert (
            NEW.start(s, Household(code="H9", name="?"), "draft", actor="ann", detail={"why": "new"})
            == "draft"
        )
    with pytest.raises(InvalidTransition), database.transaction() as s:
        NEW.start(s, Household(code="H8", name="?"), "done", actor="ann")  # not an initial status
    with database.session() as s:
        assert [h.code for h in s.scalars(select(Household))] == ["H9"]
    assert _audit(database) == [("thing.create", "ann", None, {"status": "draft", "why": "new"})]


def test_insert_many_journals_every_row_under_one_head_lock(database: Database) -> None:
    rows = [{"code": f"H{i}", "name": "draft"} for i in range(5)]
    with database.transaction() as s:
        ids = NEW.insert_many(s, Household.__table__, rows, actor="ann", detail=lambda r: {"code": r["code"]})
    with database.session() as s:
        assert [s.get(Household, i).code for i in ids] == [f"H{i}" for i in range(5)]
        entries = s.scalars(
            select(AuditEntry).where(AuditEntry.entity == "thing").order_by(AuditEntry.id)
        ).all()
        assert [(e.entity_id, e.action, e.after) for e in entries] == [
            (str(i), "thing.create", {"status": "draft", "code": f"H{k}"}) for k, i in enumerate(ids)
        ]
        assert verify_chain(s).ok
    with pytest.raises(InvalidTransition), database.transaction() as s:
        NEW.insert_many(s, Household.__table__, [{"code": "HX", "name": "review"}], actor="ann")


def test_fire_many_is_all_or_nothing_and_moves_the_fields_that_go_with_the_status(
    sqlite_database: Database,
) -> None:
    db = sqlite_database
    with db.transaction() as s:
        a, b = Household(code="A", name="draft"), Household(code="B", name="review")
        s.add_all([a, b])
        s.flush()
        ids = [a.id, b.id]
    with pytest.raises(InvalidTransition), db.transaction() as s:
        M.fire_many(s, [s.get(Household, i) for i in ids], "submit", actor="ann")  # B cannot submit
    with db.session() as s:
        assert [s.get(Household, i).name for i in ids] == ["draft", "review"]
    with db.transaction() as s:
        h = s.get(Household, ids[0])
        M.fire(s, h, "submit", actor="ann", also={"code": "A2"})
    with db.session() as s:
        assert (s.get(Household, ids[0]).name, s.get(Household, ids[0]).code) == ("review", "A2")
    assert _audit(db)[-1] == ("thing.submit", "ann", {"status": "draft", "code": "A"},
                              {"status": "review", "code": "A2"})  # fmt: skip
    with db.transaction() as s:
        assert M.fire_many(s, [s.get(Household, i) for i in ids], "approve", actor="bob") == ["done", "done"]
    assert [a for a, *_ in _audit(db)][-2:] == ["thing.approve", "thing.approve"]
