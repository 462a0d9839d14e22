"""The status-bar indicator of the shared database: live (green) or offline (red, reconnecting)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from ui.live.feed import LiveFeed

ONLINE = "#2e9d4f"
OFFLINE = "#d0342c"
CONNECTING = "#c9a227"


class ConnectionIndicator(QWidget):
    """A dot and a word; the tooltip says why (and the last change seen)."""

    def __init__(self, feed: LiveFeed, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.feed = feed
        self.dot = QLabel("\u25cf")
        self.text = QLabel()
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 0, 6, 0)
        lay.setSpacing(4)
        lay.addWidget(self.dot)
        lay.addWidget(self.text)
        feed.connection.connect(self.show_state)
        feed.changes.connect(lambda _batch: self._tip())
        self._set(CONNECTING, "Connecting\u2026", "connecting to the shared database")

    def show_state(self, online: bool, detail: str) -> None:
        if online:
            self._set(ONLINE, "Live", "shared database connected: changes from other desks show at once")
        else:
            self._set(OFFLINE, "Offline \u2013 reconnecting", f"{detail}\nActions that write are blocked.")

    def _set(self, colour: str, words: str, why: str) -> None:
        self.dot.setStyleSheet(f"color: {colour}; font-size: 14px;")
        self.text.setText(words)
        self._why = why
        self._tip()

    def _tip(self) -> None:
        self.setToolTip(f"{self._why}\nlast change seen: #{self.feed.last_seq}")
