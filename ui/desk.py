"""The desk: one user's session with the engine (database, event bus, clock) and the shared book load.

Panels never query the engine on the GUI thread: they ask the desk, which runs the query as a
job and hands back plain frames. The PM panels share one valued snapshot (`book_ready`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from PySide6.QtCore import QObject, QTimer, Signal

from engine.clock import Clock, SystemClock
from engine.events import BookChanged, Event, EventBus
from engine.store.database import Database
from engine.views import holdings
from engine.views.snapshot import BookSnapshot, load_snapshot
from engine.views.users import DeskUser
from ui.bridge import EngineBridge
from ui.workers import CancelToken, Jobs

log = logging.getLogger(__name__)
CACHE_FORMAT = 2  # 2: lots without lot_ref, currencies as categoricals, terms added in place


@dataclass
class BookData:
    """A valued snapshot with the derived frames every PM panel needs."""

    snap: BookSnapshot
    lots: pd.DataFrame
    positions: pd.DataFrame
    accounts: pd.DataFrame
    cached_at: float | None = None
    """Set when this is the last session's copy (epoch seconds it was saved): shown while the
    fresh book loads, then replaced."""


class BookCache:
    """The last valued book of one database in the user's cache directory (a pickle).

    Valuing 26k lots costs about 0.85 CPU-s in a worker that competes with the GUI thread for
    the GIL at startup; reading the copy takes about 30 ms. The desk shows the copy at once,
    marked as cached, and always loads the fresh book behind it. The file is the user's own,
    written by this program, so unpickling it is as trusted as the settings file."""

    def __init__(self, directory: Path, database_url: str) -> None:
        key = hashlib.sha256(database_url.encode()).hexdigest()[:16]
        self.path = Path(directory) / f"book-{key}.pickle"

    def load(self) -> BookData | None:
        try:
            with self.path.open("rb") as f:
                fmt, saved_at, data = pickle.load(f)
        except FileNotFoundError:
            return None
        except Exception as exc:  # an old or broken copy: ignore it, the fresh load follows
            log.info("book cache %s unusable: %s", self.path, exc)
            return None
        if fmt != CACHE_FORMAT or not isinstance(data, BookData):
            return None
        data.cached_at = float(saved_at)
        return data

    def save(self, data: BookData) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            pickle.dump((CACHE_FORMAT, time.time(), data), f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(self.path)


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
        book_cache: BookCache | None = None,
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
        self.book_cache = book_cache
        self._loading = False
        self._reload_due = False
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
        if self._loading:  # one load in flight: a change meanwhile loads once more after it
            self._reload_due = True
            return
        self._loading = True
        self._reload_due = False
        cache = self.book_cache
        if cache is not None and self.book is None:
            QTimer.singleShot(0, self._show_cached)  # not inside the panel's show event
        self.jobs.start("Loading the book", self._load_fresh, self._book_done, self._book_err)

    def _load_fresh(self, token: CancelToken) -> BookData:
        data = load_book(self.database, token)
        if self.book_cache is not None:
            try:
                self.book_cache.save(data)
            except OSError as exc:  # a full or read-only disk only loses the head start
                log.warning("could not save the book cache: %s", exc)
        return data

    def _show_cached(self) -> None:
        if self.book is not None or not self._loading or self.book_cache is None:
            return  # the fresh book won the race
        cached = self.book_cache.load()
        if cached is not None and not cached.snap.empty:
            self.book = cached
            self.book_ready.emit(cached)

    def _book_done(self, data: BookData) -> None:
        self._loading = False
        self.book = data
        self.book_ready.emit(data)
        if self._reload_due:
            self.load_book()

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
