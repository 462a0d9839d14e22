"""Render each role's workspace to PNG, offscreen, against the real book (for docs and CI evidence)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from engine.clock import Clock, SystemClock
from engine.store.database import Database
from engine.views.users import ROLE_WORKSPACE, DeskUser, desk_users
from ui.desk import Desk
from ui.main_window import MainWindow
from ui.settings import UserSettings
from ui.startup import process_events_until
from ui.workers import Jobs

WORKSPACE_ROLE = {
    "pm": "portfolio_manager",
    "compliance": "compliance",
    "trader": "trader",
    "operations": "operations",
}


def user_for(database: Database, workspace: str) -> DeskUser:
    """The first active user whose role opens this workspace (a read-only viewer if none)."""
    role = WORKSPACE_ROLE[workspace]
    for u in desk_users(database):
        if u.role == role:
            return u
    return DeskUser("viewer", "Viewer", role, False)


def wait_ready(window: MainWindow, timeout_ms: int = 60_000) -> bool:
    """Until every visible dock has loaded and no job is running."""

    def ready() -> bool:
        visible = [p for p in window.docks.values() if p.isVisible()]
        for p in visible:
            if not p.loaded:  # a tab behind another gets no visibility signal: load it anyway
                p.refresh()
        return not window.desk.jobs.running

    ok = process_events_until(ready, timeout_ms)
    process_events_until(lambda: False, 300)  # let models flush and charts paint
    return ok


def render(
    database: Database,
    workspace: str,
    theme: str,
    out: Path,
    size: tuple[int, int] = (1600, 960),
    clock: Clock | None = None,
    prepare: Callable[[Desk], None] | None = None,
) -> Path:
    """Open the workspace as its role's user, wait for the data, grab the window to `out`."""
    if workspace not in WORKSPACE_ROLE:
        raise ValueError(f"workspace must be one of {sorted(WORKSPACE_ROLE)}")
    app = QApplication.instance() or QApplication([])
    assert ROLE_WORKSPACE[WORKSPACE_ROLE[workspace]] == workspace
    user = user_for(database, workspace)
    with tempfile.TemporaryDirectory() as tmp:
        store = QSettings(str(Path(tmp) / "screenshot.ini"), QSettings.Format.IniFormat)
        desk = Desk(database, user, clock=clock or SystemClock(), jobs=Jobs())
        if prepare is not None:  # e.g. the trader demo's simulated OMS (workstation.trader_demo)
            prepare(desk)
        window = MainWindow(desk, UserSettings(user.username, store), theme=theme, restore=False)
        window.resize(*size)
        window.show()
        window.reset_workspace(workspace)
        app.processEvents()
        wait_ready(window)
        if (window.width(), window.height()) != size:  # the window would not shrink to it
            hint = window.minimumSizeHint()
            window.setProperty("force_close", True)
            window.close()
            desk.jobs.wait()
            raise ValueError(
                f"the {workspace} workspace needs at least {hint.width()}x{hint.height()}, "
                f"not {size[0]}x{size[1]}"
            )
        out.parent.mkdir(parents=True, exist_ok=True)
        if not window.grab().save(str(out), "PNG"):
            raise OSError(f"could not write {out}")
        window.setProperty("force_close", True)
        window.close()
        desk.jobs.wait()
        window.deleteLater()
        app.processEvents()
    return out
