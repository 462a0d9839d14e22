"""Order and execution blotters: status colours, filter combos, context menu, batched live updates.

Live rows arrive through `model.upsert()` (see FrameTableModel): a 100 ms timer coalesces them,
so a burst of a thousand execution reports a second costs ten ranged model refreshes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QMenu, QVBoxLayout, QWidget

from widgets.colors import status_color
from widgets.columns import Column
from widgets.empty_state import EmptyStateStack
from widgets.table_model import FrameTableModel
from widgets.table_view import DataTableView
from widgets.toolbar import filter_box

ALL = "All"


@dataclass(frozen=True)
class RowAction:
    """A context-menu entry: `run(keys)` on the selected rows; disabled with `why_not` when set."""

    text: str
    run: Callable[[list[object]], object]
    enabled: Callable[[list[dict[str, object]]], bool] = lambda rows: bool(rows)
    why_not: str = ""


class Blotter(QWidget):
    """A live table with one combo per filter key and a free-text filter."""

    def __init__(
        self,
        columns: list[Column],
        key: str,
        empty: str,
        filters: list[tuple[str, str]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.dark = False
        self.model = FrameTableModel(columns, key=key)
        self.model.background_fn = self._background
        self.view = DataTableView(self.model)
        self.view.setSelectionBehavior(DataTableView.SelectionBehavior.SelectRows)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        self.actions_: list[RowAction] = []
        self.combos: dict[str, QComboBox] = {}
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        for fkey, label in filters:
            combo = QComboBox()
            combo.addItem(ALL)
            combo.setMinimumContentsLength(8)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.currentTextChanged.connect(lambda text, k=fkey: self._set_filter(k, text))
            bar.addWidget(QLabel(label + ":"))
            bar.addWidget(combo)
            self.combos[fkey] = combo
        bar.addStretch(1)
        self.count = QLabel("")
        bar.addWidget(self.count)
        bar.addWidget(filter_box("Filter…", self._text))
        self.stack = EmptyStateStack(self.view, self.model, empty)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)
        self._choices = QTimer(self)
        self._choices.setInterval(1000)
        self._choices.timeout.connect(self.refresh_choices)
        self._choices.start()
        for sig in (self.model.modelReset, self.model.rowsInserted, self.model.rowsRemoved):
            sig.connect(self._update_count)

    def _background(self, model: FrameTableModel, row: int) -> QColor | None:
        column = model._data.get("status")
        status = column[row] if column is not None else None
        return status_color(str(status), self.dark) if status else None

    def _set_filter(self, key: str, text: str) -> None:
        self.model.set_predicate(key, None if text in (ALL, "") else {text})
        self.stack.keep_view(self._filtering())
        self._update_count()

    def _text(self, text: str) -> None:
        self.model.set_text_filter(text)
        self.stack.keep_view(self._filtering())
        self._update_count()

    def _filtering(self) -> bool:
        return self.model.total_rows > 0

    def _update_count(self, *_: object) -> None:
        self.count.setText(f"{self.model.rowCount():,} of {self.model.total_rows:,}  ")

    def refresh_choices(self) -> None:
        """Offer each filter's values that occur in the data (checked once a second, cheap)."""
        for key, combo in self.combos.items():
            data = self.model._data.get(key)
            if data is None or not len(data):
                continue
            values = sorted({str(v) for v in np.unique(data.astype(str)) if v not in ("None", "nan", "")})
            have = [combo.itemText(i) for i in range(1, combo.count())]
            if values != have:
                current = combo.currentText()
                combo.blockSignals(True)
                combo.clear()
                combo.addItems([ALL, *values])
                combo.setCurrentText(current if current in values else ALL)
                combo.blockSignals(False)

    def set_actions(self, actions: list[RowAction]) -> None:
        self.actions_ = actions

    def selected_rows(self) -> list[dict[str, object]]:
        rows = sorted({i.row() for i in self.view.selectionModel().selectedIndexes()})
        keys = [c.key for c in self.model.columns] + [self.model.key or ""]
        return [{k: self.model.value(r, k) for k in keys if k} for r in rows]

    def _menu(self, pos: QPoint) -> None:
        if not self.actions_:
            return
        rows = self.selected_rows()
        menu = QMenu(self)
        for act in self.actions_:
            label = act.text + (f"  ({act.why_not})" if act.why_not else "")
            qa = menu.addAction(label)
            qa.setEnabled(not act.why_not and act.enabled(rows))
            qa.triggered.connect(
                lambda _c=False, a=act: a.run([r[self.model.key] for r in rows if self.model.key])
            )
        menu.popup(self.view.viewport().mapToGlobal(pos))
