"""ui.live on a real PostgreSQL feed: changes arrive as Qt signals in the GUI thread, the
status indicator says Live/Offline, and write actions are blocked while the connection is down
and come back by themselves after the reconnect and catch-up."""

from __future__ import annotations

import os
import time
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QStatusBar, QWidget
from sqlalchemy import text

from engine.compliance import approvals, killswitch
from engine.ports import OrderIntent
from engine.store.database import Database
from tests.engine.compliance.minibook import build_minibook
from ui.live.feed import LiveFeed
from ui.live.guard import OFFLINE_TIP, WriteGuard
from ui.live.indicator import ConnectionIndicator

SHOTS = Path(os.environ.get("WS_SCREENSHOTS", "/tmp"))


@pytest.mark.parametrize("database", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_live_feed_indicator_and_write_guard_through_a_dropped_connection(qtbot, database: Database) -> None:  # type: ignore[no-untyped-def]
    build_minibook(database)
    feed = LiveFeed(database.url, wait=0.1)
    bar = QStatusBar()
    indicator = ConnectionIndicator(feed)
    bar.addPermanentWidget(indicator)
    approve = QPushButton("Approve")
    approve.setToolTip("approve the selected case")
    guard = WriteGuard(feed)
    guard.add(approve)
    win = QWidget()
    lay = QHBoxLayout(win)
    lay.addWidget(approve)
    lay.addWidget(bar)
    win.resize(520, 60)
    win.show()
    try:
        assert not approve.isEnabled()  # nothing that writes before the feed is connected
        qtbot.waitUntil(lambda: feed.online, timeout=10_000)
        assert indicator.text.text() == "Live" and approve.isEnabled()
        win.grab().save(str(SHOTS / "shared-desk-live.png"))

        with qtbot.waitSignal(feed.changes, timeout=5_000) as got, database.transaction() as s:
            case = approvals.submit(
                s, "tr1", "order", "UI1", [OrderIntent("U1", "AAA", "buy", Decimal(10))], created_by="pm1"
            )
        seen = list(got.args[0])
        while len(seen) < 3:  # opened, checked, pending may span ticks
            with qtbot.waitSignal(feed.changes, timeout=5_000) as more:
                pass
            seen += more.args[0]
        assert [(c.type, c.state, c.ids["approval"]) for c in seen] == [
            ("approval", "draft", case.id),
            ("approval", "checked", case.id),
            ("approval", "pending_approval", case.id),
        ]

        states: list[tuple[bool, bool, str]] = []
        feed.connection.connect(
            lambda on, _d: states.append((on, approve.isEnabled(), indicator.text.text()))
        )
        real = feed.listener.on_state

        def slow_offline(online: bool, detail: str) -> None:
            real(online, detail)
            if not online:  # another desk commits while we are away; we stay down a moment
                with database.transaction() as s:
                    killswitch.engage(s, "co1", "firm", None, "while the desk was offline")
                time.sleep(1.0)

        feed.listener.on_state = slow_offline
        with database.engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": feed.listener.backend_pid})
        qtbot.waitUntil(lambda: not approve.isEnabled(), timeout=5_000)
        assert indicator.text.text().startswith("Offline") and approve.toolTip() == OFFLINE_TIP
        win.grab().save(str(SHOTS / "shared-desk-offline.png"))
        with qtbot.waitSignal(
            feed.by_type, timeout=10_000, check_params_cb=lambda t, _c: t == "kill_switch"
        ) as ks:
            pass
        assert ks.args[1][0].state == "engaged" and ks.args[1][0].who == "co1"  # caught up after reconnect
        qtbot.waitUntil(lambda: approve.isEnabled(), timeout=10_000)
        assert states == [(False, False, "Offline \u2013 reconnecting"), (True, True, "Live")]
        assert approve.toolTip() == "approve the selected case"
    finally:
        feed.close()
        win.close()
