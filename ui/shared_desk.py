"""The main window's link to the shared book's change feed (docs/shared_desk.md).

It shows Live / Offline in the status bar, greys out every dock's content while the database is
unreachable (nothing can be written, or read, until the listener reconnects and catches up), and
refreshes the docks a change concerns — approvals, proposals, audit — at most once a second
each, so another desk's decision appears here within about a second; orders and fills another
desk changed are re-read row by row in the blotters, and a fill's accounts (whose lots and cash
it books) are recomputed in the desk's book (`Desk.accounts_changed`): the holdings grid and the
heatmap update those accounts' rows only.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QMainWindow

from engine.shared.feed import Change
from ui.desk import Desk
from ui.live.feed import LiveFeed
from ui.live.guard import OFFLINE_TIP
from ui.live.indicator import ConnectionIndicator
from ui.panels.base import Panel

# Which docks reload for each change type (at most once a second each). Orders and fills are
# re-read row by row in the blotters instead (ORDER_TYPES): a fill stream must not reload them.
ORDER_TYPES = ("order", "fill")
REFRESHES: dict[str, tuple[str, ...]] = {
    "approval": ("audit",),  # the case (queue) and its proposal are re-read by id (KEYED, below)
    "kill_switch": ("approvals", "audit", "killswitch"),  # another desk's switch shows here at once
    "rule": ("approvals", "audit"),
    # A proposal's row is re-read by id in the proposals dock (KEYED); the docks built on runs and
    # proposals as a whole (the runs to compare, exceptions, transition steps) reload, visible ones
    # only and at most once a second. Not the household view: it values the household against a
    # risk model of the whole universe (seconds), so it reloads on its own Refresh.
    "proposal": ("compare", "exceptions", "transitions"),
}
KEYED = {"proposal": "proposals", "approval": "approvals"}
"""Change type -> dock that re-reads only the rows named in the change's ids (a bulk rebalance
writes thousands of proposals: reloading the whole table with its payloads once a second stalled
the desk). A proposal's creation no longer reloads the approval queue: a case is its own change."""
MIN_INTERVAL = 1.0  # seconds between two refreshes of one dock


class SharedDeskLink(QObject):
    """Follows the change feed for one main window; `close()` stops the listener thread."""

    def __init__(self, window: QMainWindow, url: object, docks: Mapping[str, Panel]) -> None:
        super().__init__(window)
        self.window = window
        self.docks = docks
        self.feed = LiveFeed(url, parent=self)
        self.indicator = ConnectionIndicator(self.feed)
        window.statusBar().addPermanentWidget(self.indicator)
        self.feed.connection.connect(self._connection)
        self.feed.changes.connect(self._changed)
        self._dropped = False  # went offline since the first connect: refresh all on return
        self._last: dict[str, float] = {}
        self._due: set[str] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._refresh_due)

    def _connection(self, online: bool, detail: str) -> None:
        for panel in self.docks.values():
            content = panel.widget()
            if content is not None:
                content.setEnabled(online)  # children keep their own enabled state for later
                content.setToolTip("" if online else OFFLINE_TIP)
        if online and self._dropped:
            self._dropped = False
            self.window.statusBar().showMessage("Shared database back online: caught up", 5000)
            self._due.update(self.docks)
            self._refresh_due()
        elif not online:
            self._dropped = True
            self.window.statusBar().showMessage(f"{OFFLINE_TIP} ({detail})")

    def _changed(self, batch: Sequence[Change]) -> None:
        orders: set[int] = set()
        filled: set[int] = set()
        keyed: dict[str, set[int]] = {}
        for change in batch:
            self._due.update(REFRESHES.get(change.type, ()))
            if change.type in ORDER_TYPES and isinstance(change.ids.get("order"), int):
                orders.add(change.ids["order"])
                if change.type == "fill":
                    filled.add(change.ids["order"])
            if change.type == "approval" and change.ids.get("entity") == "proposal":
                try:  # the proposal's Compliance column follows its case
                    keyed.setdefault("proposals", set()).add(int(str(change.ids.get("entity_id"))))
                except ValueError:
                    self._due.add("proposals")
            dock = KEYED.get(change.type)
            if dock is not None and self._followed(dock, change):
                continue
            if dock is not None:
                key = change.ids.get(change.type)
                if isinstance(key, int):
                    keyed.setdefault(dock, set()).add(key)
                else:
                    self._due.add(dock)  # no id to re-read by: reload that dock
        for dock, ids in keyed.items():
            panel = self.docks.get(dock)
            reread = getattr(panel, "reread", None)
            if reread is not None:
                reread(sorted(ids))
        desk = self._desk()
        if filled and desk is not None and desk.book is not None:
            desk.accounts_changed(order_ids=sorted(filled))  # those accounts' rows, not the book
        if orders:  # keyed re-reads of just those rows in the blotters (no full reload)
            for panel in self.docks.values():
                hook = getattr(panel, "changed_elsewhere", None)
                if hook is not None and panel.loaded:
                    hook(sorted(orders))
        self._refresh_due()

    def _desk(self) -> Desk | None:
        for panel in self.docks.values():
            return panel.desk
        return None

    def _followed(self, dock: str, change: Change) -> bool:
        """A proposal this desk's own running rebalance just created: the proposals dock reads
        its batch by id already (following the run), so the feed does not read it twice."""
        panel = self.docks.get(dock)
        batch = getattr(getattr(panel, "run_state", None), "batch", None)
        return bool(batch and change.action == "created" and change.ids.get("batch") == batch)

    def _refresh_due(self) -> None:
        now = time.monotonic()
        wait = None
        for name in sorted(self._due):
            panel = self.docks.get(name)
            if panel is None or not panel.loaded or not panel.isVisible():
                self._due.discard(name)  # refreshed on its next show anyway
                continue
            left = self._last.get(name, 0.0) + MIN_INTERVAL - now
            if left > 0:
                wait = left if wait is None else min(wait, left)
                continue
            self._due.discard(name)
            self._last[name] = now
            panel.refresh()
        if wait is not None and not self._timer.isActive():
            self._timer.start(int(wait * 1000) + 1)

    def close(self) -> None:
        self._timer.stop()
        self.feed.close()
