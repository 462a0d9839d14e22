"""Start the desktop: check for a display, open the store, first-run demo book, log in, main window."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workstation.config import DB_ENV

NO_DISPLAY = (
    "workstation: no display found. Run `workstation screenshot --workspace pm --out DIR` "
    "to render the desk to PNG, or set QT_QPA_PLATFORM=offscreen."
)


def has_display() -> bool:
    """False on Linux without X11/Wayland and without an explicit Qt platform (offscreen...)."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def local_zone() -> ZoneInfo:
    """The user's IANA zone: $TZ, else /etc/localtime's target, else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    link = Path("/etc/localtime")
    if link.is_symlink():
        parts = str(link.resolve()).split("zoneinfo/")
        if len(parts) == 2:
            candidates.append(parts[1])
    for name in candidates:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def run_desktop(db: str | None, theme: str | None = None, user: str | None = None) -> int:
    """Open the main window; returns the process exit code."""
    if not has_display():
        print(NO_DISPLAY, file=sys.stderr)
        return 2
    from PySide6.QtWidgets import QApplication, QDialog

    from ui.coldstart import freeze_startup_objects, preload, show_shell

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("SMA Workstation")
    shell, _ = show_shell(app)  # painted before pandas, SQLAlchemy and the engine are imported
    preload(app, shell)  # those import on a thread while the shell paints

    from platformdirs import user_cache_path

    from engine.clock import SystemClock
    from engine.store.database import mask_url
    from engine.views.daycycle import DayCycleLink
    from ui.desk import BookCache, Desk
    from ui.login import LoginDialog
    from ui.main_window import MainWindow
    from ui.settings import UserSettings, settings
    from ui.startup import ensure_book
    from ui.theme import apply_theme
    from ui.workers import Jobs
    from workstation.compose import default_inbox, inbox_kinds, open_store
    from workstation.config import APP_NAME
    from workstation.desk_oms import wire_desk_oms

    store = settings()
    apply_theme(app, theme or str(store.value("last_theme", "light")))
    embedded = db is None and not os.environ.get(DB_ENV)
    database = open_store(db)
    jobs = Jobs()
    first = ensure_book(database, jobs, embedded)
    shell.close()
    login = LoginDialog(database, last_user=user or str(store.value("last_user", "")))
    if user:
        login.choose(user)
    if login.exec() != QDialog.DialogCode.Accepted or login.user is None:
        return 0
    store.setValue("last_user", login.user.username)
    # the last session's valued book, shown at once while the fresh one loads
    cache = BookCache(user_cache_path(APP_NAME, appauthor=False), mask_url(database.url))
    desk = Desk(database, login.user, clock=SystemClock(local_zone()), jobs=jobs, book_cache=cache)
    wire_desk_oms(desk)  # the trader's OMS and FIX sessions, made on first use
    desk.day_cycle = DayCycleLink(default_inbox(), inbox_kinds())  # type: ignore[attr-defined]
    user_settings = UserSettings(login.user.username, store)
    window = MainWindow(desk, user_settings, theme=theme or user_settings.get("theme", "light"))
    if theme:
        window.set_theme(theme)
    if first.message:
        window.statusBar().showMessage(first.message)
    window.show()
    freeze_startup_objects()  # no full GC pass over the startup heap during a blotter burst
    desk.book_ready.connect(lambda _d: freeze_startup_objects())
    return int(app.exec())
