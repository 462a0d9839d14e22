"""The Transaction costs dock: per broker or trader above, every order below, the numbers of
`report tca` (tests/engine/tca/book.py's stored day); a user without tca.read sees the refusal."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.access.users import create_user
from engine.clock import ManualClock
from engine.store.database import Database
from engine.views.users import desk_users
from tests.conftest import migrated
from tests.engine.tca.book import T0, build
from ui.desk import Desk
from ui.panels.tca_panel import TcaPanel
from ui.workers import Jobs


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    database = migrated(f"sqlite:///{tmp_path_factory.mktemp('tca-ui') / 'book.db'}")
    build(database)
    with database.transaction() as s:
        create_user(s, None, "ad1", "Admin", "admin", "admin password 1")
        create_user(s, "ad1", "co1", "Compliance One", "compliance", "compliance password 1")
        create_user(s, "ad1", "pm1", "PM One", "portfolio_manager", "pm password 1")
    yield database
    database.dispose()


def _panel(qtbot, book: Database, username: str) -> TcaPanel:  # type: ignore[no-untyped-def]
    user = next(u for u in desk_users(book) if u.username == username)
    panel = TcaPanel(Desk(book, user, clock=ManualClock(T0), jobs=Jobs()))
    qtbot.addWidget(panel)
    panel.resize(1300, 520)
    panel.show()
    return panel


def test_tca_dock_shows_the_report(book: Database, qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = _panel(qtbot, book, "co1")
    orders = panel.orders.model
    qtbot.waitUntil(lambda: orders.rowCount() == 3, timeout=30_000)
    row = orders.view_row_of_key("O1")
    assert float(orders.value(row, "shortfall_bps")) == 40.0 and float(orders.value(row, "avg_px")) == 100.4
    row = orders.view_row_of_key("O2")
    assert (
        float(orders.value(row, "shortfall")) == 640.0
        and float(orders.value(row, "slippage_vwap_bps")) == 5.0
    )
    brokers = panel.groups["broker"].model
    assert brokers.rowCount() == 2
    assert float(brokers.value(brokers.view_row_of_key("BRK2"), "shortfall_bps")) == 64.0
    assert "+59.35 bps" in panel.caption.text() and "SIMULATED" in panel.caption.text()
    panel.by.setCurrentIndex(1)
    traders = panel.groups["trader"].model
    assert panel.stack.currentWidget() is panel.groups["trader"] and traders.rowCount() == 2
    assert float(traders.value(traders.view_row_of_key("tr1"), "notional")) == 35120.0
    out = os.environ.get("WORKSTATION_TEST_SHOTS")
    if out:
        panel.grab().save(str(Path(out) / "tca.png"))
    panel.desk.jobs.wait()


def test_a_user_without_tca_read_sees_the_refusal(book: Database, qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = _panel(qtbot, book, "pm1")
    qtbot.waitUntil(lambda: "tca.read" in panel.caption.text(), timeout=30_000)
    assert panel.orders.model.rowCount() == 0
    panel.desk.jobs.wait()
