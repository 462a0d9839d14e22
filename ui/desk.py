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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from PySide6.QtCore import QObject, QTimer, Signal

from engine.clock import Clock, SystemClock
from engine.events import BookChanged, Event, EventBus
from engine.store.database import Database
from engine.views import book as book_frames
from engine.views.drift import DriftMatrix, drift_matrix
from engine.views.fx_exposure import Scope, exposure
from engine.views.snapshot import BookSnapshot
from engine.views.users import DeskUser
from ui.bridge import EngineBridge
from ui.pages import use_small_pages
from ui.workers import CancelToken, Jobs

log = logging.getLogger(__name__)
CACHE_FORMAT = 4  # 3: no lots (positions and account rows only, text as categoricals); 4: drift


@dataclass
class BookData:
    """A valued snapshot with the derived frames every PM panel needs. The book's lots are not
    kept (engine.views.book): one position's lots are read when it is opened."""

    snap: BookSnapshot
    positions: pd.DataFrame
    accounts: pd.DataFrame
    cached_at: float | None = None
    """Set when this is the last session's copy (epoch seconds it was saved): shown while the
    fresh book loads, then replaced."""
    drift: dict[str, DriftMatrix] = field(default_factory=dict)
    """The heatmap's matrices (bucket kind -> matrix) grouped in the load's own worker, for the
    kinds a heatmap asked for (`Desk.want_drift`): drawn with the book, no second job."""
    fx: dict[Scope, tuple[str, pd.DataFrame]] = field(default_factory=dict)
    """The FX panel's exposure (reporting currency, rows) for the scope it shows (`Desk.want_fx`),
    computed in the load's worker: ~40 ms less on the GUI thread when the book arrives."""


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


def load_book(
    database: Database,
    token: CancelToken | None = None,
    drift_kinds: Iterable[str] = (),
    fx_scopes: Iterable[Scope] = (),
) -> BookData:
    """The valued book, with the drift matrices of `drift_kinds` grouped from its positions and
    the FX exposure of `fx_scopes`."""
    if token:
        token.progress(2, "Reading accounts, prices and FX")
    frames = book_frames.load_frames(database, token.progress if token else None)
    data = BookData(frames.snap, frames.positions, frames.accounts)
    if not data.positions.empty:
        for kind in drift_kinds:
            data.drift[kind] = drift_matrix(data.positions, data.accounts, kind)
        for scope in fx_scopes:
            data.fx[scope] = exposure(data.snap, scope)
    if token:
        token.progress(100, "Book loaded")
    return data


def refresh_accounts(database: Database, data: BookData, account_ids: list[int]) -> BookData:
    """`data` with the rows of these accounts recomputed (engine.views.book.refresh_accounts)."""
    old = book_frames.BookFrames(data.snap, data.positions, data.accounts)
    new = book_frames.refresh_accounts(database, old, account_ids)
    return BookData(new.snap, new.positions, new.accounts)


class Desk(QObject):
    """Shared by every panel of one main window."""

    book_ready = Signal(object)
    accounts_refreshed = Signal(object, list)
    """(BookData, account ids): only these accounts' rows changed (another desk booked a fill);
    panels update those rows instead of redrawing the book."""
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
        use_small_pages()  # the book's arrays: ~0.8 CPU-s less in page faults (ui.pages)
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
        self._refresh_queued = False
        self._drift_kinds: set[str] = set()
        self._fx_scopes: set[Scope] = set()
        self._ensure_queued = False
        self._refreshing = False
        self._stale_accounts: set[int] = set()
        self._stale_orders: set[int] = set()
        self.dark = False

    def run(
        self,
        name: str,
        fn: Callable[[CancelToken], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.jobs.start(name, fn, on_done, on_error or (lambda msg: self.message.emit(f"{name}: {msg}")))

    def want_drift(self, kind: str) -> None:
        """The heatmap shows this bucket kind (and no other): the book's loads group it."""
        self._drift_kinds = {kind}

    def want_fx(self, scope: Scope) -> None:
        """The FX panel shows this scope (and no other): the book's loads compute its exposure."""
        self._fx_scopes = {scope}

    @property
    def book_loading(self) -> bool:
        """A whole load of the book is in flight."""
        return self._loading or self._ensure_queued

    def ensure_book(self) -> None:
        """Load the book unless it is loaded or a load is in flight: the first show of each of
        the three book docks asks for it, and only a reload (a refresh, a change) loads it again.
        (Each asking `load_book` read and valued the 10,000-account book twice at startup.) The
        load starts on the next turn of the event loop, once every dock of this show has said
        what it wants computed with the book (`want_drift`, `want_fx`)."""
        if self.book is None and not self._loading and not self._ensure_queued:
            self._ensure_queued = True
            QTimer.singleShot(0, self._ensure_now)

    def _ensure_now(self) -> None:
        self._ensure_queued = False
        if self.book is None and not self._loading:
            self.load_book()

    def refresh_book(self) -> None:
        """Reload the book once for every ask of this turn of the event loop (Refresh all asks
        through each of the three book docks: each reload is ~2 CPU-s on 10,000 accounts)."""
        if not self._refresh_queued:
            self._refresh_queued = True
            QTimer.singleShot(0, self._refresh_now)

    def _refresh_now(self) -> None:
        self._refresh_queued = False
        self.load_book()

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
        kinds, scopes = sorted(self._drift_kinds), list(self._fx_scopes)  # as asked now
        self.jobs.start(
            "Loading the book", lambda t: self._load_fresh(t, kinds, scopes), self._book_done, self._book_err
        )

    def _load_fresh(self, token: CancelToken, kinds: list[str], scopes: list[Scope]) -> BookData:
        data = load_book(self.database, token, kinds, scopes)
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
        else:  # accounts changed while it loaded: the load may have read them before the change
            self.accounts_changed()

    def _book_err(self, msg: str) -> None:
        self._loading = False
        self.book_failed.emit(msg)
        self.message.emit(f"Could not load the book: {msg}")

    def accounts_changed(self, account_ids: Iterable[int] = (), order_ids: Iterable[int] = ()) -> None:
        """Another desk changed these accounts (or booked these orders, whose accounts are looked
        up): recompute their rows only, in a worker, one refresh in flight (asks meanwhile fold
        into the next). A whole reload in flight or due makes this unnecessary."""
        self._stale_accounts.update(int(i) for i in account_ids)
        self._stale_orders.update(int(i) for i in order_ids)
        if self.book is None or self._loading or self._refreshing:
            return
        if not (self._stale_accounts or self._stale_orders):
            return
        ids, orders = sorted(self._stale_accounts), sorted(self._stale_orders)
        self._stale_accounts, self._stale_orders = set(), set()
        self._refreshing = True
        base = self.book
        database = self.database

        def work(_t: CancelToken) -> tuple[BookData, list[int]]:
            wanted = sorted(set(ids) | set(book_frames.accounts_of_orders(database, orders)))
            return refresh_accounts(database, base, wanted), wanted

        self.jobs.start("Updating accounts", work, self._refreshed, self._refresh_err)

    def _refreshed(self, result: tuple[BookData, list[int]]) -> None:
        self._refreshing = False
        data, ids = result
        if self.book is not None and not self._loading:
            if ids:
                data.cached_at = self.book.cached_at
                self.book = data
                self.accounts_refreshed.emit(data, ids)
        else:  # a whole load is in flight: these accounts again after it
            self._stale_accounts.update(ids)
        self.accounts_changed()

    def _refresh_err(self, msg: str) -> None:
        self._refreshing = False
        self.message.emit(f"Updating accounts: {msg}")

    def _on_events(self, events: list[Event]) -> None:
        if any(isinstance(e, BookChanged) for e in events):
            self.load_book()

    def close(self) -> None:
        self.bridge.close()
        oms = getattr(self, "oms", None)  # the trader's OMS link (ui.oms_link.attach), if any
        if oms is not None:
            oms.close()
