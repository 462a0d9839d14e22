"""The main window on the shared change feed: another desk's case and decision appear without a
manual refresh, and an offline database greys out the docks until it is back."""

from __future__ import annotations

from sqlalchemy import select

from engine.compliance.approvals import decide
from engine.compliance.tables import ApprovalCase
from engine.store.database import Database
from tests.ui.helpers import close_window, open_window


def test_another_desks_case_and_decision_appear_and_offline_blocks_the_docks(
    qtbot, demo_db, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    cora = open_window(qtbot, demo_db, "cora.compliance", tmp_path / "c.ini")
    queue = cora.docks["approvals"].blotter.model
    qtbot.waitUntil(lambda: cora.shared.feed.online, timeout=10_000)
    other = Database(demo_db.url)  # a second desk on the same book: its own engine and connections
    try:
        with other.transaction() as s:
            case = ApprovalCase(entity="order", entity_id="9901", state="pending_approval", outcome="flag",
                                hard_block=False, created_by="pat.pm", terms=[])  # fmt: skip
            s.add(case)
            s.flush()
            case_id = case.id
        qtbot.waitUntil(lambda: queue.view_row_of_key(case_id) >= 0, timeout=10_000)  # no refresh pressed
        with other.transaction() as s:
            decide(s, "cole.compliance", case_id, "approve", "within_tolerance", "from the other desk")
        qtbot.waitUntil(lambda: queue.view_row_of_key(case_id) < 0, timeout=10_000)

        cora.shared.feed.connection.emit(False, "database connection lost: test")
        content = cora.docks["approvals"].widget()
        assert not content.isEnabled() and not cora.docks["audit"].widget().isEnabled()
        assert cora.shared.indicator.text.text().startswith("Offline")
        assert "offline" in cora.statusBar().currentMessage().lower()
        cora.shared.feed.connection.emit(True, "listening")
        assert content.isEnabled() and cora.docks["audit"].widget().isEnabled()
        assert cora.shared.indicator.text.text() == "Live"
    finally:
        with demo_db.transaction() as s:
            for c in s.scalars(select(ApprovalCase).where(ApprovalCase.entity_id == "9901")):
                c.state = "rejected"
        other.dispose()
        close_window(cora)


def test_an_order_another_desk_changes_is_re_read_in_the_blotter(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from decimal import Decimal

    from engine.access.guard import require
    from engine.compliance.order_cases import OrderApprovalCases
    from engine.oms.drafts import OrderDraft
    from engine.store.accounts import Account
    from engine.store.positions import TaxLot
    from engine.store.reference import Security
    from tests.engine.oms.book import FlagAll, make_oms
    from tests.ui.conftest import build_book

    book = build_book(tmp_path / "book.db", accounts=3)
    tara = open_window(qtbot, book, "tara.trader", tmp_path / "t.ini")
    blotter = tara.docks["orders"].blotter.model
    qtbot.waitUntil(lambda: tara.shared.feed.online and tara.docks["orders"].loaded, timeout=10_000)
    other = Database(book.url)  # another desk's OMS whose checker flags everything: orders wait for approval
    try:
        with other.session() as s:
            account, symbol = s.execute(
                select(Account.code, Security.symbol).join(TaxLot, TaxLot.account_id == Account.id)
                .join(Security, Security.id == TaxLot.security_id).limit(1)
            ).one()  # fmt: skip
        desk_b = make_oms(other, checker=FlagAll(), authorize=require, cases=OrderApprovalCases())
        [oid] = desk_b.create([OrderDraft(account, symbol, "sell", Decimal(1))], "tara.trader")
        qtbot.waitUntil(lambda: blotter.view_row_of_key(oid) >= 0, timeout=10_000)
        assert blotter.value(blotter.view_row_of_key(oid), "status") == "pending_approval"
        desk_b.approve(oid, "cora.compliance")
        qtbot.waitUntil(
            lambda: blotter.value(blotter.view_row_of_key(oid), "status") == "released", timeout=10_000
        )
    finally:
        other.dispose()
        close_window(tara)
        book.dispose()


def test_proposals_another_desk_writes_are_re_read_by_key(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A bulk rebalance on another desk writes proposals: this desk re-reads just those rows (no
    reload of the whole table with every payload)."""
    from engine.rebalance.tables import Proposal
    from engine.store.accounts import Account
    from tests.ui.conftest import build_book

    book = build_book(tmp_path / "book.db", accounts=3)
    pat = open_window(qtbot, book, "pat.pm", tmp_path / "p.ini")
    panel = pat.docks["proposals"]
    panel.show()
    panel.raise_()
    qtbot.waitUntil(
        lambda: pat.shared.feed.online and panel.loaded and not pat.desk.jobs.running, timeout=30_000
    )
    calls: list[object] = []
    fetch = panel.fetch
    panel.fetch = lambda ids: (calls.append(None if ids is None else tuple(ids)), fetch(ids))[1]  # type: ignore[method-assign]
    other = Database(book.url)
    try:
        with other.transaction() as s:
            acct = s.scalars(select(Account)).first()
            made = [
                Proposal(batch_id="elsewhere-batch", account_id=acct.id, mode="rebalance", status="ok",
                         created_by="pat.pm", payload={"trades": [{"symbol": "X", "side": "buy", "quantity": i + 1}]})
                for i in range(3)
            ]  # fmt: skip
            s.add_all(made)
            s.flush()
            ids = sorted(p.id for p in made)
        model = panel.blotter.model
        qtbot.waitUntil(lambda: all(model.view_row_of_key(i) >= 0 for i in ids), timeout=10_000)
        assert calls and None not in calls  # keyed re-reads only
        assert set().union(*map(set, calls)) == set(ids)  # type: ignore[arg-type]
        row = model.view_row_of_key(ids[0])
        assert (
            model.value(row, "trades") == 1 and model.value(row, "batch") == "elsewher"
        )  # the batch id shortened to 8
    finally:
        other.dispose()
        close_window(pat)
        book.dispose()
