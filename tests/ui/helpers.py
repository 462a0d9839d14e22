"""Shared helpers: open a real main window on a database and wait for its panels to load."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from PySide6.QtCore import QSettings
from sqlalchemy import select

from engine.clock import Clock
from engine.store.accounts import Account
from engine.store.database import Database
from engine.store.reference import Security
from engine.views.users import desk_users
from ui.desk import Desk
from ui.main_window import MainWindow
from ui.screenshot import wait_ready
from ui.settings import UserSettings
from ui.workers import Jobs


def open_window(
    qtbot, database: Database, username: str, ini: Path, clock: Clock | None = None, restore: bool = False
) -> MainWindow:  # type: ignore[no-untyped-def]
    user = next(u for u in desk_users(database) if u.username == username)
    store = QSettings(str(ini), QSettings.Format.IniFormat)
    desk = Desk(database, user, clock=clock, jobs=Jobs())
    window = MainWindow(desk, UserSettings(username, store), theme="light", restore=restore)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    assert wait_ready(window, 60_000)
    return window


def close_window(window: MainWindow) -> None:
    window.setProperty("force_close", True)
    window.close()
    window.desk.jobs.wait()


def open_trader_window(qtbot, book: Database, sim, clock: Clock, ini: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    """tara.trader's window on `book`, its OMS link the simulated broker's (`sim.attach`)."""
    user = next(u for u in desk_users(book) if u.username == "tara.trader")
    desk = Desk(book, user, clock=clock, jobs=Jobs())
    sim.attach(desk)
    store = QSettings(str(ini), QSettings.Format.IniFormat)
    window = MainWindow(desk, UserSettings(user.username, store), theme="light", restore=False)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    assert wait_ready(window, 60_000)
    return window


def compliant_buyers(book: Database, quantity: int) -> tuple[str, list[str]]:
    """A New York stock and the accounts whose buy of `quantity` the real compliance check does not
    block (the demo book has accounts with KYC pending: those are blocked; flagged ones get approved)."""
    from engine.compliance.checker import ComplianceChecker
    from engine.ports import OrderIntent

    with book.session() as s:
        sym = s.scalars(
            select(Security.symbol).where(Security.mic == "XNYS", Security.asset_class == "equity")
        ).first()
        assert sym is not None
        codes = list(s.scalars(select(Account.code).order_by(Account.code)))
        intents = [OrderIntent(c, sym, "buy", Decimal(quantity), ref=c) for c in codes]
        outcomes = ComplianceChecker(persist=False).check(s, intents, "tara.trader")
    ok = [str(o.ref) for o in outcomes if o.outcome != "block"]
    assert len(ok) >= 4, [(o.ref, o.outcome, o.messages) for o in outcomes]
    return sym, ok
