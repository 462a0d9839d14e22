"""Compliance workspace against the real compliance service: the approval queue, approve, the
two-approver override of a hard block, segregation of duties, and the audit trail that results."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.compliance.tables import ApprovalCase
from engine.oms.tables import Order
from tests.ui.helpers import close_window, open_window


@pytest.fixture
def cases(demo_db):  # type: ignore[no-untyped-def]
    """Three pending cases as the compliance service would leave them after a flagging check."""
    with demo_db.transaction() as s:
        made = [
            ApprovalCase(entity="proposal", entity_id="901", state="pending_approval", outcome="flag",
                         hard_block=False, created_by="pat.pm", terms=[{"side": "buy", "quantity": "10", "symbol": "AAA", "account": "A000001"}]),
            ApprovalCase(entity="proposal", entity_id="902", state="pending_approval", outcome="block",
                         hard_block=True, created_by="pat.pm", terms=[]),
            ApprovalCase(entity="order", entity_id="903", state="pending_approval", outcome="flag",
                         hard_block=False, created_by="cora.compliance", terms=[]),
        ]  # fmt: skip
        s.add_all(made)
        s.flush()
        ids = [c.id for c in made]
    yield ids
    with demo_db.transaction() as s:
        for c in s.scalars(select(ApprovalCase).where(ApprovalCase.id.in_(ids))):
            c.state = "rejected"  # leave no pending case behind for other modules


def state(demo_db, case_id: int) -> str:  # type: ignore[no-untyped-def]
    with demo_db.session() as s:
        return s.get(ApprovalCase, case_id).state


def test_queue_decisions_go_through_the_compliance_service(qtbot, demo_db, cases, tmp_path) -> None:  # type: ignore[no-untyped-def]
    normal, hard, own = cases
    cora = open_window(qtbot, demo_db, "cora.compliance", tmp_path / "c.ini")
    panel = cora.docks["approvals"]
    model = panel.blotter.model
    assert sorted(model.column_values("id")) == sorted(cases)
    assert model.value(model.view_row_of_key(hard), "hard_block") == "hard block"
    assert "buy 10 AAA (A000001)" in model.value(model.view_row_of_key(normal), "summary")

    def decide(window, decision: str, case_id: int) -> None:  # type: ignore[no-untyped-def]
        window.docks["approvals"].decide(decision, [case_id], reason="within_tolerance", comment="test")
        qtbot.waitUntil(lambda: not window.desk.jobs.running, timeout=10_000)

    decide(cora, "approve", normal)
    assert state(demo_db, normal) == "approved"
    messages: list[str] = []
    cora.desk.message.connect(messages.append)
    decide(cora, "approve", own)  # nobody approves their own trade
    assert state(demo_db, own) == "pending_approval"
    qtbot.waitUntil(lambda: any("may not decide" in m for m in messages), timeout=5000)
    decide(cora, "approve", hard)  # first of two approvers: stays pending
    assert state(demo_db, hard) == "pending_approval"
    qtbot.waitUntil(lambda: sorted(model.column_values("id")) == sorted([hard, own]), timeout=10_000)
    close_window(cora)

    cole = open_window(qtbot, demo_db, "cole.compliance", tmp_path / "d.ini")
    decide(cole, "approve", hard)  # second, different approver: override done
    assert state(demo_db, hard) == "approved"
    decide(cole, "reject", own)
    assert state(demo_db, own) == "rejected"
    queue = cole.docks["approvals"].blotter
    qtbot.waitUntil(lambda: queue.model.rowCount() == 0, timeout=10_000)
    assert queue.stack.showing_message
    audit = cole.docks["audit"].blotter.model
    qtbot.waitUntil(lambda: audit.rowCount() >= 4, timeout=10_000)
    actions = set(audit.column_values("action"))
    assert {"approval.approve", "approval.override_first", "approval.override", "approval.reject"} <= actions
    close_window(cole)


def test_no_order_rows_are_invented(demo_db) -> None:  # type: ignore[no-untyped-def]
    with demo_db.session() as s:
        assert s.scalars(select(Order)).first() is None
