"""Starting the desk: open the store, build the demo book on first run, log in, show the window."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QEventLoop, Qt
from PySide6.QtWidgets import QApplication, QProgressDialog, QWidget
from sqlalchemy import func, select

import resources
from engine.store.accounts import Account
from engine.store.database import Database
from ui.workers import Jobs

if TYPE_CHECKING:  # the demo builder (and exchange_calendars) load only on a first run
    from engine.demo.build import DemoBuild


@dataclass(frozen=True)
class FirstRun:
    built: DemoBuild | None
    message: str


def account_count(database: Database) -> int:
    with database.session() as s:
        return int(s.execute(select(func.count()).select_from(Account)).scalar_one())


def ensure_book(
    database: Database, jobs: Jobs, embedded_default: bool, accounts: int = 200, parent: QWidget | None = None
) -> FirstRun:
    """On first run with the embedded default and an empty book, build the demo book in a worker.

    The GUI stays responsive (a progress dialog spins); the build itself is one transaction and
    cannot be stopped half-way, so the dialog has no cancel button.
    """
    if not embedded_default or account_count(database) > 0:
        return FirstRun(None, "")
    from engine.demo.build import DemoBuild, build_demo_book

    dialog = QProgressDialog("First run: building the SIMULATED demo book (about 10 s)…", "", 0, 0, parent)
    dialog.setCancelButton(None)
    dialog.setWindowTitle("SMA Workstation")
    dialog.setWindowModality(Qt.WindowModality.ApplicationModal)
    dialog.setMinimumDuration(0)
    dialog.show()
    loop = QEventLoop()
    result: dict[str, object] = {}
    jobs.start(
        "Building the demo book",
        lambda _t: build_demo_book(database, resources.path("reference"), accounts=accounts),
        lambda r: (result.__setitem__("built", r), loop.quit()),
        lambda m: (result.__setitem__("error", m), loop.quit()),
    )
    loop.exec()
    dialog.close()
    if "error" in result:
        return FirstRun(None, f"Could not build the demo book: {result['error']}")
    built = result["built"]
    assert isinstance(built, DemoBuild)
    return FirstRun(
        built,
        f"First run: built the SIMULATED demo book ({built.accounts} accounts, as of {built.as_of}) "
        f"in the embedded database in {built.seconds:.1f} s",
    )


def process_events_until(predicate: object, timeout_ms: int = 30_000) -> bool:
    """Spin the event loop until predicate() is true (for screenshots and tests)."""
    import time

    app = QApplication.instance()
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        app.processEvents()  # type: ignore[union-attr]
        time.sleep(0.01)
    return bool(predicate())  # type: ignore[operator]
