"""Base of every dock: stable objectName (for saved layouts), lazy first load, theme hook."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QSplitter, QVBoxLayout, QWidget

from ui.desk import Desk


class Panel(QDockWidget):
    """A dock that loads its data the first time it becomes visible (startup stays fast)."""

    name = "panel"
    title = "Panel"
    after_book = False
    """Load after the desk's book is on screen when the book is still loading at this dock's first
    show: the book is what the window opens on, and a dock loading beside it (the performance
    chart's ~0.7 CPU-s) takes the second core and the GIL from it."""

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(self.title, parent)
        self.desk = desk
        self.setObjectName(f"dock.{self.name}")
        self.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.loaded = False
        self.visibilityChanged.connect(self._visible)

    def _visible(self, visible: bool) -> None:
        if visible and not self.loaded:
            self.loaded = True
            if self.after_book:  # once every dock of this show has asked for its data
                QTimer.singleShot(0, self, self._load_after_book)
            else:
                self.load()

    def _load_after_book(self) -> None:
        if self.desk.book is None and self.desk.book_loading:
            self.desk.book_ready.connect(self._book_arrived)
            self.desk.book_failed.connect(self._book_arrived)
        else:
            self.load()

    def _book_arrived(self, *_: object) -> None:
        self.desk.book_ready.disconnect(self._book_arrived)
        self.desk.book_failed.disconnect(self._book_arrived)
        self.load()

    def load(self) -> None:
        """Start loading data (in a worker). Called once on first show; again by refresh()."""

    def reload_after(self, *sources: str) -> None:
        """Reload (if already loaded) when another dock says it changed one of `sources` through
        `desk.data_changed` (e.g. "daycycle" after a close)."""
        self.desk.data_changed.connect(lambda what: what in sources and self.loaded and self.load())

    def refresh(self) -> None:
        self.loaded = True
        self.load()

    def apply_theme(self, dark: bool) -> None:
        """Re-colour what the palette does not reach (charts, status colours)."""

    def set_split_body(self, bar: QWidget, upper: QWidget, lower: QWidget, sizes: list[int]) -> None:
        """The dock's body: a toolbar on top of a vertical splitter (a list above its detail), the
        splitter taking all the height the bar leaves."""
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(upper)
        split.addWidget(lower)
        split.setSizes(sizes)
        body = QWidget()
        outer = QVBoxLayout(body)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(bar)
        outer.addWidget(split, 1)
        self.setWidget(body)
