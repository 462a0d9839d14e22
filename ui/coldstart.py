"""Cold start: paint a shell window at once, then import the engine in a thread while it paints.

Importing Qt widgets takes about a second; pandas, SQLAlchemy, numpy, alembic and the
engine take several more (three times that on a loaded machine). This module imports only
PySide6, so `workstation` can show its shell (title, a status line, a progress bar that moves)
right after QApplication exists. The pure-Python libraries and engine modules are then imported
on a plain thread while the GUI thread keeps painting; Qt-facing modules (pyqtgraph, qtawesome,
the ui panels) are imported afterwards on the GUI thread, as Qt requires.
"""

from __future__ import annotations

import gc
import importlib
import sys
import threading
import time
from collections.abc import Sequence

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QLabel, QProgressBar, QVBoxLayout, QWidget

# No Qt in these (they may be imported off the GUI thread), heaviest first.
BACKGROUND: tuple[str, ...] = (
    "numpy",
    "pandas",
    "sqlalchemy",
    "sqlalchemy.orm",
    "engine.store.database",
    "engine.store.schema",
    "engine.pricing.valuation",
    "engine.markets.clock",  # exchange_calendars itself loads with the first calendar
    "engine.compliance.approvals",
    "engine.oms.service",
    "engine.compliance.templates",
    "engine.store.migrate",  # alembic, for open_store's schema check
    "workstation.compose",
    "engine.views.holdings",
    "engine.views.snapshot",
    "engine.views.users",
    "engine.views.trading",
)


class Shell(QWidget):
    """The first window a user sees: the application's name, what is loading, and a progress bar."""

    def __init__(self, title: str = "SMA Workstation") -> None:
        super().__init__(None, Qt.WindowType.Window)
        self.setWindowTitle(title)
        self.setObjectName("coldStartShell")
        name = QLabel(title)
        font = QFont(name.font())
        font.setPointSize(font.pointSize() + 8)
        font.setBold(True)
        name.setFont(font)
        self.status = QLabel("Starting…")
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(10)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(32, 28, 32, 28)
        lay.addWidget(name)
        lay.addWidget(self.status)
        lay.addWidget(self.bar)
        self.resize(520, 150)

    def step(self, pct: int, text: str) -> None:
        self.bar.setValue(pct)
        self.status.setText(text)


def fast_pyside_import_check() -> bool:
    """Make PySide6's per-import check read the module's file instead of `inspect.getsource`.

    Once PySide6 is imported, its import hook asks of every module imported after it whether the
    source mentions "PySide6" (for its opt-in `__feature__` switches), through inspect.getsource:
    about 1,000 modules at startup, 0.5-0.8 s of the cold start's CPU. The same question answered
    from the file's bytes costs a read. Non-.py modules keep the original check. Returns whether
    the hook was found and replaced (or already was)."""
    feature = sys.modules.get("shibokensupport.feature")
    original = getattr(feature, "_mod_uses_pyside", None)
    if feature is None or original is None:
        return False
    if getattr(original, "fast_check", False):
        return True

    def mod_uses_pyside(module: object) -> bool:
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or not path.endswith(".py"):
            return bool(original(module))
        try:
            with open(path, "rb") as f:
                return b"PySide6" in f.read()
        except OSError:
            return bool(original(module))

    mod_uses_pyside.fast_check = True  # type: ignore[attr-defined]
    feature._mod_uses_pyside = mod_uses_pyside
    return True


def show_shell(app: QApplication, title: str = "SMA Workstation") -> tuple[Shell, float]:
    """Show the shell and paint it now; returns it and the perf_counter time of the first paint.
    Also speeds up PySide6's import hook for everything imported after it."""
    fast_pyside_import_check()
    shell = Shell(title)
    shell.show()
    shell.repaint()
    app.processEvents()
    return shell, time.perf_counter()


def preload(
    app: QApplication,
    shell: Shell | None = None,
    modules: Sequence[str] = BACKGROUND,
    gui_modules: Sequence[str] = ("pyqtgraph", "qtawesome", "ui.main_window"),
) -> dict[str, float]:
    """Import `modules` on a thread while the GUI thread spins its event loop, then `gui_modules`
    on the GUI thread. Returns seconds per phase; an import error is raised here, on the GUI thread."""
    state: dict[str, object] = {"done": 0, "name": "", "error": None}
    t0 = time.perf_counter()

    def work() -> None:
        try:
            for i, name in enumerate(modules):
                state["name"] = name
                importlib.import_module(name)
                state["done"] = i + 1
        except BaseException as exc:
            state["error"] = exc

    thread = threading.Thread(target=work, name="workstation-preload", daemon=True)
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(30)

    def tick() -> None:
        if shell is not None:
            n = int(state["done"])  # type: ignore[call-overload]
            shell.step(int(80 * n / max(len(modules), 1)), f"Loading {state['name']}…")
        if not thread.is_alive():
            loop.quit()

    timer.timeout.connect(tick)
    thread.start()
    timer.start()
    loop.exec()
    timer.stop()
    thread.join()
    if state["error"] is not None:
        raise state["error"]  # type: ignore[misc]
    t1 = time.perf_counter()
    for i, name in enumerate(gui_modules):
        if shell is not None:
            shell.step(80 + int(20 * i / max(len(gui_modules), 1)), f"Loading {name}…")
            app.processEvents()
        importlib.import_module(name)
    return {"background": t1 - t0, "gui": time.perf_counter() - t1}


def freeze_startup_objects() -> int:
    """Put every object alive now out of the cyclic collector's reach; returns how many.

    The desk keeps about 200,000 long-lived container objects (modules, classes, SQLAlchemy and
    pandas internals, Qt wrappers). A full (generation 2) collection walked all of them on the
    GUI thread: 128 ms in the middle of a 1,000-updates/s blotter burst. Frozen objects are never scanned again; new garbage still is.
    Call it once the window is built (and after a big reload, if one follows)."""
    gc.freeze()
    return gc.get_freeze_count()
