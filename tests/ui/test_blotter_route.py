"""Routing from the order blotter against the real OMS and a SIMULATED broker over real FIX on
127.0.0.1: Ctrl+Return routes the selected released orders, "Route all" routes every released one;
they become sent and then filled; the outcome is in the status bar and the row's Note; a user
without orders.route is refused by the engine (audited) and nothing moves."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QWidget
from sqlalchemy import select

from engine.clock import ManualClock
from engine.errors import PermissionDenied
from engine.oms.drafts import OrderDraft
from engine.oms.tables import Order
from engine.store.database import Database
from engine.store.people import AuditEntry as AuditLog
from engine.views.users import desk_users
from tests.ui.conftest import build_book
from tests.ui.helpers import close_window, compliant_buyers, open_trader_window
from ui.desk import Desk
from ui.main_window import MainWindow
from ui.panels.killswitch_panel import KillSwitchPanel
from ui.workers import Jobs
from workstation.trader_demo import SIM, SimulatedTrading

TUESDAY = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
"""New York is open (11:00 EST): routed orders go out at once."""


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = build_book(tmp_path_factory.mktemp("route-book") / "book.db", accounts=6)
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def us_symbol(book: Database) -> tuple[str, list[str]]:
    return compliant_buyers(book, 100)


@pytest.fixture(scope="module")
def sim(book: Database) -> Iterator[SimulatedTrading]:
    """A simulated broker that fills each order in one part shortly after it arrives."""
    trading = SimulatedTrading.start(
        book, clock=ManualClock(TUESDAY), fill_parts=1, fill_interval=0.2, route=False, sender="WSR"
    )
    yield trading
    trading.stop()


@pytest.fixture(scope="module")
def window(qtbot_module, book, sim, tmp_path_factory) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    clock = ManualClock(TUESDAY, user_tz="Europe/London")
    w = open_trader_window(qtbot_module, book, sim, clock, tmp_path_factory.mktemp("ini") / "s.ini")
    yield w
    close_window(w)


def released(sim: SimulatedTrading, drafts: list[OrderDraft]) -> list[int]:
    """Create orders through compliance (approving flagged ones): they stay released, unrouted."""
    m = sim.link.manager

    def run() -> list[int]:
        ids = m.create(drafts, "tara.trader")
        for oid in ids:
            if status(m.database, oid) == "pending_approval":
                m.approve(oid, "cora.compliance")
        return ids

    ids = sim.link.call(run)
    assert all(status(m.database, i) == "released" for i in ids)
    return ids


def status(db: Database, oid: int) -> str:
    with db.session() as s:
        o = s.get(Order, oid)
        assert o is not None
        return o.status


def blotter_value(window: MainWindow, oid: int, key: str) -> object:
    m = window.docks["orders"].blotter.model
    row = m.view_row_of_key(oid)
    return m.value(row, key) if row >= 0 else None


def select_orders(window: MainWindow, qtbot, ids: list[int]) -> None:  # type: ignore[no-untyped-def]
    blotter = window.docks["orders"].blotter
    qtbot.waitUntil(
        lambda: all(blotter_value(window, i, "status") == "released" for i in ids), timeout=10_000
    )
    blotter.view.setFocus()
    sel = blotter.view.selectionModel()
    sel.clearSelection()
    for oid in ids:
        sel.select(
            blotter.model.index(blotter.model.view_row_of_key(oid), 0),
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )


def test_ctrl_return_routes_the_selection_and_the_orders_fill(
    window, sim, book, us_symbol, qtbot_module
) -> None:  # type: ignore[no-untyped-def]
    sym, codes = us_symbol
    ids = released(sim, [OrderDraft(c, sym, "buy", Decimal(100), broker=SIM) for c in codes[:3]])
    chosen, left = ids[:2], ids[2]
    select_orders(window, qtbot_module, chosen)
    blotter = window.docks["orders"].blotter
    route = next(a for a in blotter.actions_ if a.text == "Route to broker")
    assert route.shortcut == "Ctrl+Return" and route.enabled(blotter.selected_rows())
    qtbot_module.keyClick(blotter.view, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot_module.waitUntil(lambda: all(status(book, i) == "filled" for i in chosen), timeout=30_000)
    assert status(book, left) == "released"  # not selected, not routed
    qtbot_module.waitUntil(lambda: "2 sent" in str(blotter_value(window, chosen[0], "note")), timeout=10_000)
    assert "routed: 2 sent" in window.statusBar().currentMessage() or "2 sent" in str(
        blotter_value(window, chosen[1], "note")
    )
    qtbot_module.waitUntil(lambda: blotter_value(window, chosen[0], "status") == "filled", timeout=10_000)
    with book.session() as s:  # each went out once, to the simulated broker
        assert {o.broker for o in s.scalars(select(Order).where(Order.id.in_(chosen)))} == {SIM}
    shot(window, "route")
    # a filled order cannot be routed again: the command is disabled for it
    select_orders_any(window, chosen[:1])
    assert not route.enabled(blotter.selected_rows())


def shot(window: QWidget, name: str) -> None:
    """With $WORKSTATION_TEST_SHOTS set, save the window as <dir>/<name>.png (to look at)."""
    out = os.environ.get("WORKSTATION_TEST_SHOTS")
    if out:
        window.grab().save(os.path.join(out, f"{name}.png"))


def route_selected(window: MainWindow) -> None:
    """The blotter's Route command on the selection (cora's dock, another window, has the focus)."""
    blotter = window.docks["orders"].blotter
    assert blotter.trigger(next(a for a in blotter.actions_ if a.text == "Route to broker"))


def select_orders_any(window: MainWindow, ids: list[int]) -> None:
    blotter = window.docks["orders"].blotter
    sel = blotter.view.selectionModel()
    sel.clearSelection()
    for oid in ids:
        sel.select(
            blotter.model.index(blotter.model.view_row_of_key(oid), 0),
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )


def test_route_all_sends_every_released_order(window, sim, book, us_symbol, qtbot_module) -> None:  # type: ignore[no-untyped-def]
    sym, codes = us_symbol
    ids = released(sim, [OrderDraft(c, sym, "buy", Decimal(50), broker=SIM) for c in codes[:2]])
    blotter = window.docks["orders"].blotter
    qtbot_module.waitUntil(
        lambda: all(blotter_value(window, i, "status") == "released" for i in ids), timeout=10_000
    )
    blotter.view.setFocus()
    blotter.view.selectionModel().clearSelection()
    qtbot_module.keyClick(
        blotter.view,
        Qt.Key.Key_Return,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    qtbot_module.waitUntil(lambda: all(status(book, i) == "filled" for i in ids), timeout=30_000)
    with book.session() as s:
        assert not s.scalars(select(Order.id).where(Order.status == "released")).all()


def test_route_without_orders_route_is_refused_and_audited(sim, book, us_symbol) -> None:  # type: ignore[no-untyped-def]
    sym, codes = us_symbol
    [oid] = released(sim, [OrderDraft(codes[0], sym, "buy", Decimal(10), broker=SIM)])
    with pytest.raises(PermissionDenied):
        sim.link.route_as([oid], "pat.pm")
    assert status(book, oid) == "released"
    with book.session() as s:
        denied = s.scalars(
            select(AuditLog).where(AuditLog.action == "permission.denied", AuditLog.username == "pat.pm")
        ).all()
    assert any(a.entity_id == "orders.route" for a in denied)
    sim.link.route_as([oid], "tara.trader")
    assert sim.wait(lambda: status(book, oid) == "filled", 30)


@pytest.fixture(scope="module")
def compliance_panel(qtbot_module, book, window) -> Iterator[tuple[KillSwitchPanel, list[str]]]:  # type: ignore[no-untyped-def]
    """cora.compliance's kill-switch dock on her own desk over the same book."""
    user = next(u for u in desk_users(book) if u.username == "cora.compliance")
    desk = Desk(book, user, clock=ManualClock(TUESDAY, user_tz="Europe/London"), jobs=Jobs())
    messages: list[str] = []
    desk.message.connect(messages.append)
    panel = KillSwitchPanel(desk)
    qtbot_module.addWidget(panel)
    panel.resize(900, 300)
    panel.show()
    qtbot_module.waitUntil(lambda: bool(panel.keys["account"]), timeout=10_000)
    yield panel, messages
    desk.jobs.wait()


def test_kill_switch_stops_routing_from_the_blotter_until_released(  # type: ignore[no-untyped-def]
    window, sim, book, us_symbol, qtbot_module, compliance_panel
) -> None:
    panel, messages = compliance_panel
    sym, codes = us_symbol
    account = codes[3]
    # a trader cannot engage it: the engine refuses (killswitch.use), nothing engaged
    trader_panel = window.docks["killswitch"]
    trader_panel.engage("account", account, "trader tries")
    qtbot_module.waitUntil(
        lambda: "Kill switch refused" in window.statusBar().currentMessage(), timeout=10_000
    )
    assert "killswitch.use" in window.statusBar().currentMessage()
    # compliance engages it for the account from the form: shown in the dock, audited
    panel.scope.setCurrentText("account")
    panel.key.setEditText(account)
    panel.reason.setText("test: stop this account")
    qtbot_module.keyClick(panel.reason, Qt.Key.Key_Return)
    qtbot_module.waitUntil(lambda: panel.blotter.model.rowCount() == 1, timeout=10_000)
    row = panel.blotter.model.view_row_of_key(panel.blotter.model.value(0, "id"))
    assert panel.blotter.model.value(row, "key") == account
    assert panel.blotter.model.value(row, "engaged_by") == "cora.compliance"
    assert "1 kill switch" in panel.summary.text()
    assert any("routing stopped for account" in m for m in messages)
    shot(panel, "killswitch")
    # the trader's route of that account's order is refused with the reason; nothing goes out
    [oid] = released(sim, [OrderDraft(account, sym, "buy", Decimal(20), broker=SIM)])
    select_orders(window, qtbot_module, [oid])
    route_selected(window)
    qtbot_module.waitUntil(lambda: "refused" in str(blotter_value(window, oid, "note")), timeout=15_000)
    note = str(blotter_value(window, oid, "note"))
    assert "0 sent" in note and "kill switch" in note and account in note
    assert status(book, oid) == "released"
    shot(window, "route-refused")
    # released: the same route goes out and fills
    panel.release([int(panel.blotter.model.value(0, "id"))], "test over")
    qtbot_module.waitUntil(lambda: panel.blotter.model.rowCount() == 0, timeout=10_000)
    assert "Routing allowed everywhere" in panel.summary.text()
    select_orders(window, qtbot_module, [oid])
    route_selected(window)
    qtbot_module.waitUntil(lambda: status(book, oid) == "filled", timeout=30_000)
    with book.session() as s:
        actions = [
            a.action
            for a in s.scalars(select(AuditLog).where(AuditLog.username == "cora.compliance"))
            if a.action.startswith("killswitch.")
        ]
    assert actions[-2:] == ["killswitch.engage", "killswitch.release"]


def test_kill_switch_dock_shows_a_switch_another_desk_engaged(
    qtbot_module, book, us_symbol, compliance_panel
) -> None:  # type: ignore[no-untyped-def]
    from engine.compliance.killswitch import engage, release

    panel, _messages = compliance_panel
    with book.transaction() as s:
        kid = engage(s, "cole.compliance", "firm", None, "test: another desk stops everything").id
    try:
        panel.refresh()
        qtbot_module.waitUntil(lambda: panel.blotter.model.view_row_of_key(kid) >= 0, timeout=10_000)
        row = panel.blotter.model.view_row_of_key(kid)
        assert panel.blotter.model.value(row, "key") == "whole firm"
        assert panel.blotter.model.value(row, "engaged_by") == "cole.compliance"
    finally:
        with book.transaction() as s:
            release(s, "cole.compliance", kid, "test over")


def test_firm_kill_switch_takes_no_key_and_needs_a_reason(qtbot_module, compliance_panel) -> None:  # type: ignore[no-untyped-def]
    panel, messages = compliance_panel
    panel.scope.setCurrentText("firm")
    assert not panel.key.isEnabled()
    panel.reason.setText("   ")
    panel.engage_button.click()
    qtbot_module.waitUntil(lambda: any("needs a reason" in m for m in messages), timeout=10_000)
    from engine.compliance.killswitch import switches

    with panel.desk.database.session() as s:
        assert switches(s) == []  # nothing engaged by the refused attempt
    panel.refresh()
    qtbot_module.waitUntil(lambda: panel.blotter.model.rowCount() == 0, timeout=10_000)
