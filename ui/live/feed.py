"""The change listener -> Qt signals. Listener callbacks (its own thread) only queue immutable
values; a 50 ms timer in the GUI thread drains the queue and emits one batch per tick.

Signals:
- `changes(list[Change])`: what changed, so panels refresh only those items;
- `by_type(str, list[Change])`: the same batch split by change type (order, fill, approval, ...);
- `connection(bool, str)`: online/offline at once when the listener sees it, with a detail.
"""

from __future__ import annotations

import queue
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from engine.shared.feed import Change
from engine.shared.listener import ChangeListener


class LiveFeed(QObject):
    """Follows a database's change feed and re-emits it in the GUI thread; `close()` stops it."""

    changes = Signal(list)
    by_type = Signal(str, list)
    connection = Signal(bool, str)

    def __init__(
        self,
        url: Any,
        *,
        since: int | None = None,
        interval_ms: int = 50,
        parent: QObject | None = None,
        **listener_kw: Any,
    ) -> None:
        super().__init__(parent)
        self._queue: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self.online = False
        self.detail = "connecting"
        self.last_seq = since or 0
        self.listener = ChangeListener(url, self._on_changes, self._on_state, since=since, **listener_kw)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.drain)
        self._timer.start()
        self.listener.start()

    # listener thread: queue only
    def _on_changes(self, batch: Sequence[Change]) -> None:
        self._queue.put(("changes", list(batch)))

    def _on_state(self, online: bool, detail: str) -> None:
        self._queue.put(("state", (online, detail)))

    # GUI thread
    def drain(self) -> int:
        """Emit what has arrived since the last tick (state changes in order with the changes)."""
        pending: list[Change] = []
        n = 0
        while True:
            try:
                kind, value = self._queue.get_nowait()
            except queue.Empty:
                break
            if kind == "changes":
                pending.extend(value)
                continue
            self._emit(pending)
            pending = []
            self.online, self.detail = value
            self.connection.emit(self.online, self.detail)
            n += 1
        n += len(pending)
        self._emit(pending)
        return n

    def _emit(self, batch: list[Change]) -> None:
        if not batch:
            return
        self.last_seq = max(self.last_seq, batch[-1].seq)
        self.changes.emit(batch)
        groups: dict[str, list[Change]] = defaultdict(list)
        for c in batch:
            groups[c.type].append(c)
        for kind, items in groups.items():
            self.by_type.emit(kind, items)

    def close(self) -> None:
        self._timer.stop()
        self.listener.stop()
