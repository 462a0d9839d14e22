"""The desk: one user's session with the engine (database, event bus, clock) and the shared book load.

Panels never query the engine on the GUI thread: they ask the desk, which runs the query as a
job and hands back plain frames. The PM panels share one valued snapshot (`book_ready`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from PySide6.QtCore import QObject, Signal

from engine.clock import Clock, SystemClock
from engine.events import BookChanged, Event, EventBus
from engine.store.database import Database
from ui.bridge import EngineBridge
from ui.data import holdings
from ui.data.snapshot import BookSnapshot, load_snapshot
from ui.data.users import DeskUser
from ui.workers import CancelToken, Jobs


@dataclass
class BookData:
    """A valued snapshot with the derived frames every PM panel needs."""

    snap: BookSnapshot
    lots: pd.DataFrame
    positions: pd.DataFrame
    accounts: pd.DataFrame


def load_book(database: Database, token: CancelToken | None = None) -> BookData:
    if token:
        token.progress(5, "Reading and valuing lots")
    snap = load_snapshot(database)
    if token:
        token.progress(70, "Weights and drift against models")
    if snap.empty:
        empty = pd.DataFrame()
        return BookData(snap, empty, empty, holdings_accounts_empty(snap))
    lots = holdings.lots_with_terms(snap)
    pos = holdings.positions(snap, lots)
    accts = holdings.accounts(snap, pos)
    if token:
        token.progress(100, "Book loaded")
    return BookData(snap, lots, pos, accts)


def holdings_accounts_empty(snap: BookSnapshot) -> pd.DataFrame:
    return snap.accounts.reset_index(drop=True)


class Desk(QObject):
    """Shared by every panel of one main window."""

    book_ready = Signal(object)
    book_failed = Signal(str)
    account_selected = Signal(int)
    message = Signal(str)
    data_changed = Signal(str)
    """A panel changed the store through a service (e.g. "approvals"): dependent panels reload."""

    def __init__(
        self,
        database: Database,
        user: DeskUser,
        bus: EventBus | None = None,
        clock: Clock | None = None,
        jobs: Jobs | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.database = database
        self.user = user
        self.bus = bus or EventBus()
        self.clock = clock or SystemClock()
        self.jobs = jobs or Jobs(parent=self)
        self.bridge = EngineBridge(self.bus, parent=self)
        self.bridge.batch.connect(self._on_events)
        self.book: BookData | None = None
        self._loading = False
        self.dark = False

    def run(
        self,
        name: str,
        fn: Callable[[CancelToken], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.jobs.start(name, fn, on_done, on_error or (lambda msg: self.message.emit(f"{name}: {msg}")))

    def load_book(self) -> None:
        """Load (or reload) the valued book in a worker; `book_ready` fires when done."""
        if self._loading:
            return
        self._loading = True
        self.jobs.start(
            "Loading the book", lambda t: load_book(self.database, t), self._book_done, self._book_err
        )

    def _book_done(self, data: BookData) -> None:
        self._loading = False
        self.book = data
        self.book_ready.emit(data)

    def _book_err(self, msg: str) -> None:
        self._loading = False
        self.book_failed.emit(msg)
        self.message.emit(f"Could not load the book: {msg}")

    def _on_events(self, events: list[Event]) -> None:
        if any(isinstance(e, BookChanged) for e in events):
            self.load_book()

    def close(self) -> None:
        self.bridge.close()
        oms = getattr(self, "oms", None)  # the trader's OMS link (ui.oms_link.attach), if any
        if oms is not None:
            oms.close()
