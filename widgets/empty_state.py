"""A table that says why it is empty ("No proposals yet - run a rebalance") instead of a blank grid."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QStackedWidget, QWidget


class EmptyStateStack(QStackedWidget):
    """Shows `view` when its model has rows, else a centred message."""

    def __init__(
        self, view: QWidget, model: QAbstractItemModel, message: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.label = QLabel(message)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setWordWrap(True)
        self.label.setSizePolicy(
            QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored
        )  # never widens a dock
        self.label.setObjectName("emptyState")
        self.label.setStyleSheet("QLabel#emptyState { color: palette(placeholder-text); font-size: 13px; }")
        self.addWidget(view)
        self.addWidget(self.label)
        self._always_view = False
        for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved, model.layoutChanged):
            signal.connect(self.update_state)
        self.update_state()

    def set_message(self, message: str) -> None:
        self.label.setText(message)

    def keep_view(self, keep: bool) -> None:
        """Show the (empty) table anyway, e.g. while the user has a filter typed in."""
        self._always_view = keep
        self.update_state()

    @property
    def showing_message(self) -> bool:
        return self.currentWidget() is self.label

    def update_state(self, *_: object) -> None:
        empty = self.model.rowCount() == 0 and not self._always_view
        self.setCurrentWidget(self.label if empty else self.widget(0))
