"""Blocks actions that write while the shared database is offline, and restores them after."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from ui.live.feed import LiveFeed

OFFLINE_TIP = "The shared database is offline: reconnecting. Actions that write are blocked."


class WriteGuard:
    """Register the widgets and actions that write; they are disabled while the feed is offline."""

    def __init__(self, feed: LiveFeed) -> None:
        self.items: list[QWidget | QAction] = []
        self._tips: dict[int, str] = {}
        self.online = feed.online
        feed.connection.connect(self.apply)

    def add(self, *items: QWidget | QAction) -> None:
        for item in items:
            self.items.append(item)
            self._tips[id(item)] = item.toolTip()
        self.apply(self.online, "")

    def apply(self, online: bool, _detail: str) -> None:
        self.online = online
        for item in self.items:
            item.setEnabled(online)
            item.setToolTip(self._tips[id(item)] if online else OFFLINE_TIP)
