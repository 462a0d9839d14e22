"""The order ticket against the real OMS and a SIMULATED broker over real FIX on 127.0.0.1 (it
acknowledges and never fills, so orders stay working): a notional in another currency sized in
board lots against a reference computed from the raw price and FX rows; a ticket filled and sent
by keyboard alone (F9, Tab, typed text, Enter to check, Enter to send) reaches the broker; a
compliance block is shown before Send and never sent; an amendment from the ticket goes out as a
cancel/replace; a route to a broker chosen now; a trader kill switch refuses that trader's ticket
and not another trader's orders."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from engine.clock import ManualClock
from engine.compliance import killswitch
from engine.oms.drafts import OrderDraft
from engine.oms.tables import ClientOrderId, Order, OrderEvent
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.market import FxRate, PriceBar
from engine.store.meta import BookMeta
from engine.store.people import User
from engine.store.positions import CashBalance
from engine.store.reference import Security
from tests.ui.conftest import build_book
from tests.ui.helpers import close_window, open_trader_window
from ui.main_window import MainWindow
from ui.panels.trading_panels import OrdersPanel
from ui.ticket import broker_chooser
from ui.ticket.dialog import TicketDialog
from workstation.trader_demo import SIM, SimulatedTrading

TUESDAY = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)
"""New York is open (11:00 EST): routed orders go out at once."""


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = build_book(tmp_path_factory.mktemp("ticket-book") / "book.db", accounts=6)
    with database.transaction() as s:  # USD to buy with (the demo accounts hold their base currency)
        for aid in s.scalars(select(Account.id)):
            row = s.scalars(
                select(CashBalance).where(CashBalance.account_id == aid, CashBalance.currency == "USD")
            ).first()
            if row is None:
                s.add(CashBalance(account_id=aid, currency="USD", settled=Decimal(10_000_000)))
            else:
                row.settled = Decimal(10_000_000)
        s.add(User(username="tom.trader", display_name="Tom Trader", role="trader"))  # a second trader
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def names(book: Database) -> dict[str, object]:
    """A New York stock, accounts whose small buy passes (or is only flagged) and one compliance
    blocks (the demo book has accounts with KYC pending)."""
    from engine.compliance.checker import ComplianceChecker
    from engine.ports import OrderIntent

    with book.session() as s:
        sym = s.scalars(
            select(Security.symbol).where(Security.mic == "XNYS", Security.asset_class == "equity")
        ).first()
        codes = list(s.scalars(select(Account.code).order_by(Account.code)))
        outcomes = ComplianceChecker(persist=False).check(
            s, [OrderIntent(c, str(sym), "buy", Decimal(10), ref=c) for c in codes], "tara.trader"
        )
    passing = [str(o.ref) for o in outcomes if o.outcome in ("pass", "warn")]
    blocked = [str(o.ref) for o in outcomes if o.outcome == "block"]
    assert len(passing) >= 2 and blocked, [(o.ref, o.outcome) for o in outcomes]
    return {"symbol": str(sym), "ok": passing, "blocked": blocked}


@pytest.fixture(scope="module")
def sim(book: Database) -> Iterator[SimulatedTrading]:
    trading = SimulatedTrading.start(
        book, clock=ManualClock(TUESDAY), fill_parts=0, route=False, sender="WST"
    )
    yield trading
    trading.stop()


@pytest.fixture(scope="module")
def window(qtbot_module, book, sim, tmp_path_factory) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    clock = ManualClock(TUESDAY, user_tz="Europe/London")
    w = open_trader_window(qtbot_module, book, sim, clock, tmp_path_factory.mktemp("ini") / "s.ini")
    sim.link.connect()
    yield w
    close_window(w)


def orders_panel(window: MainWindow) -> OrdersPanel:
    panel = window.docks["orders"]
    assert isinstance(panel, OrdersPanel)
    return panel


def press(key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    """A key press where the keyboard focus is (the way a trader's key arrives)."""
    target = QApplication.focusWidget()
    assert target is not None, "nothing has the keyboard focus"
    QTest.keyClick(target, key, modifier)


def type_text(text: str) -> None:
    target = QApplication.focusWidget()
    assert target is not None
    QTest.keyClicks(target, text)


def key_in_order(d: TicketDialog, qtbot, account: str, symbol: str, quantity: str) -> None:  # type: ignore[no-untyped-def]
    """Type an account, a symbol and a quantity as a trader does (Tab between fields, Enter to
    check) and wait for the ticket's compliance plan."""
    type_text(account)
    press(Qt.Key.Key_Tab)
    type_text(symbol)
    press(Qt.Key.Key_Tab)
    press(Qt.Key.Key_Tab)
    press(Qt.Key.Key_Tab)
    type_text(quantity)
    press(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: d.plan is not None and not d.busy, timeout=30_000)


def focus_blotter(window: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    """The trader's window active and the keyboard in the order blotter (its filter when empty)."""
    panel = orders_panel(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    home = panel.blotter.view if panel.blotter.view.isVisible() else panel.blotter.filter
    home.setFocus()
    qtbot.waitUntil(home.hasFocus, timeout=5_000)


def open_ticket(window: MainWindow, qtbot) -> TicketDialog:  # type: ignore[no-untyped-def]
    panel = orders_panel(window)
    focus_blotter(window, qtbot)
    previous = panel.ticket
    press(Qt.Key.Key_F9)
    qtbot.waitUntil(
        lambda: panel.ticket is not None and panel.ticket is not previous and panel.ticket.isVisible(),
        timeout=5_000,
    )
    dialog = panel.ticket
    assert dialog is not None
    dialog.activateWindow()
    dialog.keys.setFocus()
    qtbot.waitUntil(lambda: dialog.keys.hasFocus(), timeout=5_000)
    qtbot.waitUntil(lambda: dialog.currency.count() > 0, timeout=10_000)
    return dialog


def created_by_ticket(db: Database, before: int) -> list[Order]:
    with db.session() as s:
        return list(s.scalars(select(Order).where(Order.id > before).order_by(Order.id)))


def last_id(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(Order.id).order_by(Order.id.desc()).limit(1)) or 0)


def reference_quantity(db: Database, symbol: str, amount: Decimal, ccy: str) -> Decimal:
    """shares = floor(amount x (security currency per `ccy`) / close / lot) x lot, from raw rows."""
    with db.session() as s:
        meta = s.get(BookMeta, "as_of")
        assert meta is not None
        as_of = datetime.fromisoformat(meta.value).date()
        sec = s.scalars(select(Security).where(Security.symbol == symbol)).one()
        close = s.scalars(
            select(PriceBar.close).where(PriceBar.security_id == sec.id, PriceBar.date <= as_of)
            .order_by(PriceBar.date.desc()).limit(1)
        ).one()  # fmt: skip

        def per_eur(c: str) -> Decimal:
            if c == "EUR":
                return Decimal(1)
            r = s.scalars(
                select(FxRate.rate).where(FxRate.base == "EUR", FxRate.quote == c, FxRate.date <= as_of)
                .order_by(FxRate.date.desc()).limit(1)
            ).one()  # fmt: skip
            return Decimal(r)

        rate = per_eur(sec.currency) / per_eur(ccy)
        lot = Decimal(sec.lot_size)
        return (amount * rate / Decimal(close) / lot).to_integral_value(ROUND_FLOOR) * lot


def test_keyboard_only_ticket_notional_in_euros_is_sized_checked_and_sent(
    window, book, sim, names, qtbot_module
) -> None:  # type: ignore[no-untyped-def]
    qtbot = qtbot_module
    sym, ok = str(names["symbol"]), list(names["ok"])  # type: ignore[call-overload]
    before = last_id(book)
    d = open_ticket(window, qtbot)
    # For: Accounts (list)  (Shift+Tab back to the scope, Down once)
    press(Qt.Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier)
    assert d.scope.hasFocus()
    press(Qt.Key.Key_Down)
    press(Qt.Key.Key_Tab)
    assert d.keys.hasFocus()
    type_text(f"{ok[0]}, {ok[1]}")
    press(Qt.Key.Key_Tab)
    assert d.security.hasFocus()
    type_text(sym.lower())
    press(Qt.Key.Key_Tab)  # side: Buy
    assert d.side.hasFocus()
    press(Qt.Key.Key_Tab)
    assert d.size_kind.hasFocus()
    press(Qt.Key.Key_Down)
    press(Qt.Key.Key_Down)  # Notional
    press(Qt.Key.Key_Tab)
    type_text("25,000")
    press(Qt.Key.Key_Tab)
    assert d.currency.hasFocus()
    d.currency.setFocus()
    type_text("EUR")  # a non-editable combo jumps to the typed item
    assert d.currency.currentText() == "EUR"
    press(Qt.Key.Key_Tab)
    assert d.order_type.hasFocus()  # market
    for _ in range(5):  # limit, stop, TIF, expiry (disabled fields are skipped), broker
        press(Qt.Key.Key_Tab)
        if d.broker.hasFocus():
            break
    assert d.broker.hasFocus() and d.broker.currentText() == SIM
    press(Qt.Key.Key_Return)  # check
    qtbot.waitUntil(lambda: d.plan is not None and not d.stale and not d.busy, timeout=30_000)
    expected = reference_quantity(book, sym, Decimal(25_000), "EUR")
    assert expected > 0
    assert [(ln.account, ln.quantity) for ln in d.plan.lines] == [(ok[0], expected), (ok[1], expected)]
    assert all(ln.outcome in ("pass", "warn") for ln in d.plan.lines)
    assert sym in d.resolved.text() and "New York" in d.resolved.text()
    assert d.lines.rowCount() == 2 and "EURUSD" in d.summary.text()
    assert d.send_button.isEnabled()
    press(Qt.Key.Key_Return)  # send
    qtbot.waitUntil(lambda: not d.isVisible(), timeout=30_000)
    made = created_by_ticket(book, before)
    assert [(o.quantity, o.created_by, o.broker) for o in made] == [(expected, "tara.trader", SIM)] * 2
    # nothing the check read changed between Enter and Enter: create reused the ticket's check
    assert sim.link.manager.ctx.checker.last_reused is True
    qtbot.waitUntil(
        lambda: all(o.status == "new" for o in created_by_ticket(book, before)), timeout=20_000
    )  # acknowledged by the simulated broker: it was on the wire
    qtbot.waitUntil(
        lambda: "2 order(s) created, 2 sent" in window.statusBar().currentMessage(), timeout=10_000
    )


def test_a_compliance_block_shows_before_send_and_is_never_sent(window, book, names, qtbot_module) -> None:  # type: ignore[no-untyped-def]
    qtbot = qtbot_module
    sym, blocked = str(names["symbol"]), list(names["blocked"])  # type: ignore[call-overload]
    before = last_id(book)
    d = open_ticket(window, qtbot)
    key_in_order(d, qtbot, blocked[0], sym, "10")
    [line] = d.plan.lines
    assert line.outcome == "block" and line.messages
    assert d.lines.value(0, "outcome") == "block" and "BLOCKS 1" in d.summary.text()
    assert not d.send_button.isEnabled()
    press(Qt.Key.Key_Return)  # Enter again: refused, nothing created
    assert "compliance blocks every order" in d.error.text()
    assert created_by_ticket(book, before) == [] and d.isVisible()
    press(Qt.Key.Key_Escape)
    assert not d.isVisible()


def test_amend_from_the_ticket_sends_a_cancel_replace(window, book, sim, names, qtbot_module) -> None:  # type: ignore[no-untyped-def]
    qtbot = qtbot_module
    sym, ok = str(names["symbol"]), list(names["ok"])  # type: ignore[call-overload]
    m = sim.link.manager
    with book.session() as s:
        sid = s.scalars(select(Security.id).where(Security.symbol == sym)).one()
        close = Decimal(
            s.scalars(
                select(PriceBar.close).where(PriceBar.security_id == sid).order_by(PriceBar.date.desc())
            ).first()
        )
    limit, new_limit = (
        (close * Decimal("0.97")).quantize(Decimal("0.01")),
        (close * Decimal("0.98")).quantize(Decimal("0.01")),
    )
    [oid] = sim.link.call(
        lambda: m.create(
            [OrderDraft(ok[0], sym, "buy", Decimal(40), "limit", limit, broker=SIM)], "tara.trader"
        )
    )
    sim.link.call(lambda: m.route([oid], username="tara.trader"))
    qtbot.waitUntil(lambda: order(book, oid).status == "new", timeout=20_000)
    panel = orders_panel(window)
    m_ = panel.blotter.model
    qtbot.waitUntil(
        lambda: m_.view_row_of_key(oid) >= 0 and m_.value(m_.view_row_of_key(oid), "status") == "new",
        timeout=20_000,
    )
    focus_blotter(window, qtbot)
    panel.blotter.view.selectionModel().select(
        m_.index(m_.view_row_of_key(oid), 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
    )
    press(Qt.Key.Key_F9, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: panel.ticket is not None and panel.ticket.amend is not None, timeout=5_000)
    d = panel.ticket
    assert (
        d is not None
        and not d.security.isEnabled()
        and d.amount.text() == "40"
        and Decimal(d.limit.text()) == limit
    )
    d.activateWindow()
    d.amount.setFocus()
    qtbot.waitUntil(lambda: d.amount.hasFocus(), timeout=5_000)
    d.amount.selectAll()
    type_text("30")
    press(Qt.Key.Key_Tab)  # to the limit (the other fields are locked)
    assert d.limit.hasFocus()
    d.limit.selectAll()
    type_text(str(new_limit))
    press(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not d.isVisible(), timeout=20_000)
    with book.session() as s:
        rp = s.scalars(
            select(ClientOrderId).where(ClientOrderId.order_id == oid, ClientOrderId.purpose == "replace")
        ).one()
        assert (rp.quantity, rp.limit_price) == (Decimal(30), new_limit)
    qtbot.waitUntil(lambda: order(book, oid).quantity == 30, timeout=20_000)  # the broker replaced it
    assert order(book, oid).limit_price == new_limit


def test_route_to_a_broker_chosen_now(window, book, sim, names, qtbot_module, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    qtbot = qtbot_module
    sym, ok = str(names["symbol"]), list(names["ok"])  # type: ignore[call-overload]
    m = sim.link.manager
    ids = sim.link.call(
        lambda: m.create([OrderDraft(c, sym, "buy", Decimal(5)) for c in ok[:2]], "tara.trader")
    )
    asked: list[tuple[list[str], str]] = []

    def choose(_parent, sessions, what):  # type: ignore[no-untyped-def]
        asked.append((sessions, what))
        return SIM

    monkeypatch.setattr(broker_chooser, "choose_broker", choose)
    panel = orders_panel(window)
    bm = panel.blotter.model
    qtbot.waitUntil(lambda: all(bm.view_row_of_key(i) >= 0 for i in ids), timeout=20_000)
    focus_blotter(window, qtbot)
    sel = panel.blotter.view.selectionModel()
    sel.clearSelection()
    for i in ids:
        sel.select(
            bm.index(bm.view_row_of_key(i), 0),
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )
    press(Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
    assert asked == [([SIM], "2 selected order(s)")]
    qtbot.waitUntil(lambda: all(order(book, i).status == "new" for i in ids), timeout=20_000)
    with book.session() as s:
        assert {o.broker for o in s.scalars(select(Order).where(Order.id.in_(ids)))} == {SIM}
        ev = s.scalars(
            select(OrderEvent).where(OrderEvent.order_id.in_(ids), OrderEvent.kind == "rebrokered")
        ).all()
        assert sorted(e.order_id for e in ev) == ids and {e.username for e in ev} == {"tara.trader"}
    qtbot.waitUntil(lambda: f"2 sent to {SIM}" in window.statusBar().currentMessage(), timeout=10_000)


def test_a_trader_kill_switch_refuses_that_traders_ticket_only(
    window, book, sim, names, qtbot_module
) -> None:  # type: ignore[no-untyped-def]
    qtbot = qtbot_module
    sym, ok = str(names["symbol"]), list(names["ok"])  # type: ignore[call-overload]
    with book.transaction() as s:
        sid = killswitch.engage(s, "cora.compliance", "trader", "tara.trader", "review of tara's orders").id
    try:
        before = last_id(book)
        d = open_ticket(window, qtbot)
        key_in_order(d, qtbot, ok[0], sym, "10")
        press(Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: "Send refused" in d.error.text(), timeout=20_000)
        assert "tara.trader may not enter orders now" in d.error.text()
        assert created_by_ticket(book, before) == []
        d.reject()
        # Another trader's order is not stopped by tara's switch (a quantity no earlier test used:
        # the duplicate-order rule would flag an identical order of the last 60 s).
        m = sim.link.manager
        other = sim.link.call(
            lambda: m.create([OrderDraft(ok[0], sym, "buy", Decimal(7), broker=SIM)], "tom.trader")
        )
        r = sim.link.call(lambda: m.route(other, username="tom.trader"))
        assert r.sent == other
        # The kill-switch dock offers the trader scope and shows the switch.
        from ui.panels.killswitch_panel import KillSwitchPanel, engaged_frame, scope_keys

        assert "tara.trader" in scope_keys(book)["trader"]
        frame = engaged_frame(book)
        assert ("trader", "tara.trader") in set(zip(frame["scope"], frame["key"]))
        ks = window.docks.get("killswitch")
        assert ks is None or isinstance(ks, KillSwitchPanel)
        assert "trader" in killswitch.SCOPES
    finally:
        with book.transaction() as s:
            killswitch.release(s, "cora.compliance", sid, "done")


def order(db: Database, oid: int) -> Order:
    with db.session() as s:
        o = s.get(Order, oid)
        assert o is not None
        return o
