"""LiveTablePanel: a blotter fed by a full load, then by keyed re-reads of the rows engine events
(or the shared change feed) name; one read in flight at a time.

Live path: engine events carrying `order_id(s)` / `execution_id(s)` make the panel re-read just
those rows in a worker and `upsert` them; the model's 100 ms timer coalesces the redraw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget

from engine.events import Event
from ui.desk import Desk
from ui.panels.base import Panel
from widgets.blotter import Blotter
from widgets.columns import Column


def _ids(events: Iterable[Event], single: str, plural: str) -> set[int]:
    ids: set[int] = set()
    for e in events:
        v = getattr(e, single, None)
        if isinstance(v, int):
            ids.add(v)
        many = getattr(e, plural, None)
        if isinstance(many, list | tuple | set | frozenset):
            ids.update(int(x) for x in many if isinstance(x, int))
    return ids


@dataclass(frozen=True, kw_only=True)
class OrdersChangedElsewhere(Event):
    """Orders another desk changed, as the shared change feed reports them."""

    order_ids: tuple[int, ...] = ()


class LiveTablePanel(Panel):
    """A blotter fed by a full load, then by keyed re-reads of the rows named in engine events."""

    id_attrs = ("order_id", "order_ids")
    empty = ""
    filters: list[tuple[str, str]] = []
    columns: list[Column] = []

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.blotter = Blotter(self.columns, "id", self.empty, self.filters)
        self.blotter.view.export_name = self.name
        self.setWidget(self.blotter)
        self._dirty: set[int] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._tick)
        self._busy = False  # a read (whole table or keyed rows) is in flight
        self._full_due = False  # a whole-table load was asked while one was in flight
        self.reads = 0  # reads started (full and keyed), for tests and benchmarks
        desk.bridge.batch.connect(self._on_events)

    def fetch(self, ids: list[int] | None) -> pd.DataFrame:
        raise NotImplementedError

    def load(self) -> None:
        link = getattr(self.desk, "oms", None)  # only if already made: no OMS is built here
        label = str(getattr(link, "label", "") or "")
        if label.startswith("SIMULATED"):
            self.setWindowTitle(f"{self.title} — SIMULATED broker, not a real one")
        self._read(f"Loading {self.title.lower()}", lambda _t: self.fetch(None), self._loaded, full=True)

    def _read(
        self, name: str, fn: Callable[[object], object], on_done: Callable[[Any], None], full: bool = False
    ) -> bool:
        """Start a read unless one is in flight: then a whole-table load is remembered for when it
        returns (one, however many were asked) and changed ids stay queued. So reads never pile up
        behind a long job on the desk's two worker threads, and a reply never overtakes a later one."""
        if self._busy:
            self._full_due = self._full_due or full
            return False
        self._busy = True
        self.reads += 1
        if full:
            self._full_due = False

        def done(result: object) -> None:
            self._busy = False
            try:
                on_done(result)
            finally:
                self._next()

        def failed(msg: str) -> None:
            self._busy = False
            self.desk.message.emit(f"{name}: {msg}")
            self._next()

        self.desk.run(name, fn, done, failed)
        return True

    def _next(self) -> None:
        if self._full_due:
            self.load()
        elif self._has_dirty() and not self._timer.isActive():
            self._timer.start()

    def _has_dirty(self) -> bool:
        return bool(self._dirty)

    def _tick(self) -> None:
        if not self._busy and self._has_dirty():  # else the read in flight re-arms the timer
            self._reload_dirty()

    def _loaded(self, frame: pd.DataFrame) -> None:
        self.blotter.model.set_frame(frame)
        self.blotter.view.fit_columns()

    def _on_events(self, events: list[Event]) -> None:
        ids = _ids(events, *self.id_attrs)
        if ids and self.loaded:
            self._dirty |= ids
            if not self._timer.isActive():
                self._timer.start()

    def changed_elsewhere(self, order_ids: Iterable[int]) -> None:
        """Re-read just the rows of orders another desk changed (from the shared feed)."""
        self._on_events([OrdersChangedElsewhere(order_ids=tuple(order_ids))])

    def reread(self, ids: Iterable[int]) -> None:
        """Re-read just these rows (keys of this panel's own table), coalesced by the 100 ms timer."""
        if self.loaded:
            self._dirty |= set(ids)
            if not self._timer.isActive():
                self._timer.start()

    def _reload_dirty(self) -> None:
        ids, self._dirty = sorted(self._dirty), set()
        self._read(f"Updating {self.title.lower()}", lambda _t: self.fetch(ids), self.blotter.model.upsert)

    def apply_theme(self, dark: bool) -> None:
        self.blotter.dark = dark
        self.blotter.view.viewport().update()
