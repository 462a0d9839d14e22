"""The allocations dock shows a block's FIX allocation: accepted or rejected with the broker's
reason, and re-sends a rejected one after correction (Ctrl+Shift+R, a real permission-checked and
audited Replace through the desk's OMS). Rendered to PNG at 1280x720."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from sqlalchemy import select

from engine.clock import ManualClock
from engine.oms.drafts import OrderDraft
from engine.oms.messages import AllocAck, ExecReport
from engine.oms.tables import AllocInstruction, Order
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.people import AuditEntry
from engine.store.reference import Security
from engine.views.users import desk_users
from tests.engine.oms.book import Gateway, PassAll, make_oms
from tests.ui.conftest import build_book
from ui.desk import Desk
from ui.panels.allocations_panel import RESEND_KEY, AllocationsPanel, ResendDialog
from ui.workers import Jobs

OPEN = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Database:
    db = build_book(tmp_path_factory.mktemp("alloc-ui") / "book.db", accounts=4)
    with db.session() as s:
        sym = s.scalars(
            select(Security.symbol).where(Security.mic == "XNYS", Security.asset_class == "equity")
        ).first()
        codes = list(s.scalars(select(Account.code).order_by(Account.code)))[:3]
    m = make_oms(db, gateway=Gateway(), checker=PassAll(), clock=ManualClock(OPEN))
    ids = m.create(
        [OrderDraft(c, str(sym), "buy", Decimal(q), broker="SIM") for c, q in zip(codes, (100, 200, 300))]
    )
    [bid] = m.build_blocks(ids)
    m.route([bid], outside_hours=True)
    with db.session() as s:
        cl = s.get(Order, bid).cl_ord_id  # type: ignore[union-attr]
    m.apply(ExecReport(broker="SIM", exec_id="F1", exec_type="F", ord_status="2", cl_ord_id=cl,
                       last_qty=Decimal(600), last_px=Decimal("50.25"), cum_qty=Decimal(600),
                       avg_px=Decimal("50.25"), transact_time=OPEN))  # fmt: skip
    with db.session() as s:
        alloc_id = s.scalars(select(AllocInstruction.alloc_id)).one()
    m.apply(AllocAck(broker="SIM", alloc_id=alloc_id, alloc_status="2", reject_code=0,
                     text=f"unknown account(s): {codes[1]}", accounts=((codes[1], 0, "unknown account"),)))  # fmt: skip
    return db


def test_rejected_allocation_is_shown_and_resent(book: Database, qtbot: Any, tmp_path: Path) -> None:
    user = next(u for u in desk_users(book) if u.role == "trader")
    desk = Desk(book, user, clock=ManualClock(OPEN), jobs=Jobs())
    panel = AllocationsPanel(desk)
    qtbot.addWidget(panel)
    panel.resize(1280, 720)
    panel.show()
    panel.refresh()
    m = panel.blotter.model
    qtbot.waitUntil(lambda: m.rowCount() == 3, timeout=15_000)
    assert set(m.column_values("alloc_status")) == {"rejected"}
    reason = str(m.column_values("alloc_reason")[0])
    assert "unknown account" in reason
    assert "rejected by the broker" in panel.summary.text()
    assert not panel.resend_button.isEnabled()
    panel.blotter.view.selectionModel().select(
        m.index(0, 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    assert panel.resend_button.isEnabled()
    panel.grab().save(str(tmp_path / "allocations_rejected.png"))
    with book.session() as s:
        old = s.scalars(select(AllocInstruction)).one()
        bad = old.lines[1]["account"]
    seen: list[ResendDialog] = []

    class AutoDialog(ResendDialog):  # the trader types the number the broker knows and presses OK
        def exec(self) -> int:
            seen.append(self)
            self.edits[bad].setText("C-1234")
            return int(ResendDialog.DialogCode.Accepted)

    panel.dialog = AutoDialog
    panel.blotter.view.setFocus()
    qtbot.keyClick(
        panel.blotter.view,
        Qt.Key.Key_R,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert RESEND_KEY == "Ctrl+Shift+R"

    def resent() -> bool:
        with book.session() as s:
            return len(s.scalars(select(AllocInstruction)).all()) == 2

    qtbot.waitUntil(resent, timeout=20_000)
    assert seen and seen[0].corrections() == {bad: "C-1234"}
    with book.session() as s:
        old2, new = s.scalars(select(AllocInstruction).order_by(AllocInstruction.id)).all()
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "oms.allocation.replace")).one()
    assert (old2.status, new.status, new.trans_type, new.ref_alloc_id) == (
        "replaced",
        "pending",
        "replace",
        old.alloc_id,
    )
    assert [x["alloc_account"] for x in new.lines][1] == "C-1234"
    assert entry.username == user.username
    qtbot.waitUntil(lambda: set(m.column_values("alloc_status")) == {"pending"}, timeout=10_000)
    qtbot.waitUntil(lambda: "rejected" not in panel.summary.text(), timeout=5_000)
    assert not panel.resend_button.isEnabled()  # nothing rejected is selected any more
    panel.grab().save(str(tmp_path / "allocations_resent.png"))
    panel.close()
    desk.close()
    desk.jobs.wait()
