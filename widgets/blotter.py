"""Order and execution blotters: status colours, filter combos, context menu, batched live updates.

Live rows arrive through `model.upsert()` (see FrameTableModel): a 100 ms timer coalesces them,
so a burst of a thousand execution reports a second costs ten ranged model refreshes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QMenu, QVBoxLayout, QWidget

from widgets.colors import status_color
from widgets.columns import Column
from widgets.empty_state import EmptyStateStack
from widgets.flow_layout import FlowBar
from widgets.formatting import format_value, sign_value
from widgets.table_model import (
    _ALIGN,
    _BACKGROUND,
    _DISPLAY,
    _FOREGROUND,
    _HANDLED,
    _LEFT,
    _RIGHT,
    RAW_ROLE,
    FrameTableModel,
    Index,
)
from widgets.table_view import DataTableView
from widgets.toolbar import filter_box

ALL = "All"
NO_CHOICE = frozenset({"None", "nan", ""})  # missing values offer no filter choice


@dataclass(frozen=True)
class RowAction:
    """A context-menu entry: `run(keys)` on the selected rows; disabled with `why_not` when set.
    `shortcut` (e.g. "Del", "Ctrl+R") works while the blotter has focus."""

    text: str
    run: Callable[[list[object]], object]
    enabled: Callable[[list[dict[str, object]]], bool] = lambda rows: bool(rows)
    why_not: str = ""
    shortcut: str = ""


class BlotterModel(FrameTableModel):
    """A FrameTableModel whose cells are prepared once per row: text, alignment and colours.

    A repaint asks seven roles of every visible cell; here that is one dictionary lookup per role
    instead of formatting and a status-colour call per cell. A row's cells are rebuilt after it
    changes (the base class drops `_display[row]` on every update), and all of them when the
    colours change (theme, gain/loss colours)."""

    @property
    def updown(self) -> Any:
        return self._updown

    @updown.setter
    def updown(self, value: Any) -> None:
        self._updown = value
        self.invalidate_cells()

    def invalidate_cells(self) -> None:
        cache = getattr(self, "_display", None)
        if cache:
            cache.clear()

    side_colors: tuple[QColor, QColor] | None = None
    """(buy, sell) text colours of the Side column (theme-aware, set by the Blotter)."""

    def _row_cells(self, row: int) -> list[dict[int, Any]]:
        bg = self.background_fn(self, row) if self.background_fn is not None else None
        out: list[dict[int, Any]] = []
        for col in self.columns:
            value = self._data[col.key][row]
            ccy = self._data[col.currency_key][row] if col.currency_key else None
            cell: dict[int, Any] = {
                _DISPLAY: format_value(col.kind, value, ccy, col.signed),
                _ALIGN: _RIGHT if col.numeric else _LEFT,
                RAW_ROLE: value,
            }
            if bg is not None:
                cell[_BACKGROUND] = bg
            if col.key == "side" and self.side_colors is not None:
                side = str(value).lower()
                if side == "buy" or side.startswith("buy"):
                    cell[_FOREGROUND] = self.side_colors[0]
                elif side.startswith("sell"):
                    cell[_FOREGROUND] = self.side_colors[1]
            if col.signed and col.numeric:
                try:
                    fg = self._updown.for_value(sign_value(col.kind, value, ccy))
                except (TypeError, ValueError):
                    fg = None
                if fg is not None:
                    cell[_FOREGROUND] = fg
            out.append(cell)
        self._display[row] = out  # type: ignore[assignment]
        return out

    def _cell_text(self, row: int, c: int) -> str:
        cells = self._display.get(row) or self._row_cells(row)
        return str(cells[c].get(_DISPLAY) or "")  # type: ignore[union-attr]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        role = int(role)
        if role not in _HANDLED or not index.isValid():
            return None
        row = int(self._view[index.row()])
        cells = self._display.get(row) or self._row_cells(row)
        return cells[index.column()].get(role)  # type: ignore[union-attr]

    def multiData(self, index: Index, span: Any) -> None:
        if not index.isValid():
            return
        row = int(self._view[index.row()])
        cells = self._display.get(row) or self._row_cells(row)
        get = cells[index.column()].get  # type: ignore[union-attr]
        for rd in span:
            value = get(rd.role())
            if value is not None:
                rd.setData(value)
            else:
                rd.clearData()  # the view reuses the span: never leave the last cell's colour


SIDE_COLORS = {False: ("#1b5fb4", "#b3401f"), True: ("#7cb6ff", "#ff9a73")}
"""Buy and sell text colours, light and dark theme (blue buys, orange-red sells: distinct from the
status backgrounds and readable on both palettes)."""
FIT_EVERY_MS = 750
"""Columns are refitted to their content at most this often while rows arrive (never per row)."""


class Blotter(QWidget):
    """A live table with one combo per filter key and a free-text filter.

    Columns fit their content as rows arrive: inserted or changed rows schedule one fit of the
    visible rows (and the first ones) at most every FIT_EVERY_MS; a column only widens, so a
    trader's narrowed column is not undone by the next row, and the view never jumps per row."""

    def __init__(
        self,
        columns: list[Column],
        key: str,
        empty: str,
        filters: list[tuple[str, str]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._dark = False
        self.model = BlotterModel(columns, key=key)
        self.model.background_fn = self._background
        self.model.side_colors = tuple(QColor(c) for c in SIDE_COLORS[False])  # type: ignore[assignment]
        self.view = DataTableView(self.model)
        self.view.setSelectionBehavior(DataTableView.SelectionBehavior.SelectRows)
        self.view.menu_hook = self._fill_menu
        self.view.route_filters()
        self.view.filter_requested.connect(self.filter_by)
        self.view.filters_cleared.connect(self.clear_filters)
        self.actions_: list[RowAction] = []
        self._shortcuts: list[QAction] = []
        self.combos: dict[str, QComboBox] = {}
        self.bar = FlowBar()
        for fkey, label in filters:
            combo = QComboBox()
            combo.addItem(ALL)
            combo.setMinimumContentsLength(8)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.currentTextChanged.connect(lambda text, k=fkey: self._set_filter(k, text))
            self.bar.add_field(label + ":", combo)
            self.combos[fkey] = combo
        self.count = QLabel("")
        self.count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.bar.add(self.count, grow=True)
        self.filter = filter_box("Filter… (Ctrl+F)", self._text)
        self.bar.add(self.filter)
        find = QAction("Filter", self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        find.triggered.connect(self.focus_filter)
        self.addAction(find)
        self.stack = EmptyStateStack(self.view, self.model, empty)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.bar)
        layout.addWidget(self.stack, 1)
        self._choices_seen = -1  # the model's version the filter choices were last built from
        self._choices = QTimer(self)
        self._choices.setInterval(1000)
        self._choices.timeout.connect(self.refresh_choices)
        self._choices.start()
        for sig in (self.model.modelReset, self.model.rowsInserted, self.model.rowsRemoved):
            sig.connect(self._update_count)
        self.fits = 0
        self._fit = QTimer(self)
        self._fit.setSingleShot(True)
        self._fit.setInterval(FIT_EVERY_MS)
        self._fit.timeout.connect(self.fit_to_content)
        for sig in (self.model.rowsInserted, self.model.dataChanged, self.model.modelReset):
            sig.connect(self._fit_soon)

    def _fit_soon(self, *_: object) -> None:
        """Throttle: the first change of a burst starts the timer; later ones ride on it."""
        if not self._fit.isActive():
            self._fit.start()

    def fit_to_content(self) -> None:
        """Widen columns to the text of the rows on screen and the first rows (never narrower)."""
        self.fits += 1
        view, model = self.view, self.model
        n = model.rowCount()
        if not n:
            return
        top = max(view.rowAt(0), 0)
        bottom = view.rowAt(max(view.viewport().height() - 1, 0))
        bottom = n - 1 if bottom < 0 else bottom
        rows = sorted({*range(min(n, 50)), *range(top, min(bottom + 1, top + 80))})
        fm = view.fontMetrics()
        for c, col in enumerate(model.columns):
            if view.isColumnHidden(c):
                continue
            width = fm.horizontalAdvance(col.title) + 28
            for r in rows:
                text = model.data(model.index(r, c))
                if text:
                    width = max(width, fm.horizontalAdvance(str(text)) + 16)
            width = min(width, 360)
            if width > view.columnWidth(c):
                view.setColumnWidth(c, width)

    @property
    def dark(self) -> bool:
        return self._dark

    @dark.setter
    def dark(self, value: bool) -> None:
        """Status colours follow the theme: the model's prepared cells are rebuilt."""
        if value != self._dark:
            self._dark = value
            self.model.side_colors = tuple(QColor(c) for c in SIDE_COLORS[value])  # type: ignore[assignment]
            self.model.invalidate_cells()

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
        """Offer each filter's values that occur in the data (checked once a second, cheap): only
        when the rows changed since the last look, and by hashing the values (`pd.unique`) rather
        than a string copy of the column (~1 ms against ~9 ms a combo for 30,000 rows)."""
        if self._choices_seen == self.model.version:
            return
        self._choices_seen = self.model.version
        for key, combo in self.combos.items():
            data = self.model._data.get(key)
            if data is None or not len(data):
                continue
            values = sorted(
                {s for s in map(str, pd.unique(data[: self.model.total_rows])) if s not in NO_CHOICE}
            )
            have = [combo.itemText(i) for i in range(1, combo.count())]
            if values != have:
                current = combo.currentText()
                combo.blockSignals(True)
                combo.clear()
                combo.addItems([ALL, *values])
                combo.setCurrentText(current if current in values else ALL)
                combo.blockSignals(False)

    def set_actions(self, actions: list[RowAction]) -> None:
        """Context-menu entries; those with a shortcut also answer their key on the view."""
        for qa in self._shortcuts:
            self.view.removeAction(qa)
        self._shortcuts = []
        self.actions_ = actions
        for act in actions:
            if not act.shortcut:
                continue
            qa = QAction(act.text, self.view)
            qa.setShortcut(QKeySequence(act.shortcut))
            qa.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            qa.triggered.connect(lambda _c=False, a=act: self.trigger(a))
            self.view.addAction(qa)
            self._shortcuts.append(qa)

    def trigger(self, act: RowAction) -> bool:
        """Run `act` on the selected rows if it is allowed for them (keyboard and tests)."""
        rows = self.selected_rows()
        if act.why_not or not act.enabled(rows):
            return False
        act.run([r[self.model.key] for r in rows if self.model.key])
        return True

    def selected_rows(self) -> list[dict[str, object]]:
        rows = sorted({i.row() for i in self.view.selectionModel().selectedIndexes()})
        keys = [c.key for c in self.model.columns] + [self.model.key or ""]
        return [{k: self.model.value(r, k) for k in keys if k} for r in rows]

    def focus_filter(self) -> None:
        """Ctrl+F: to the filter box, its text selected."""
        self.filter.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter.selectAll()

    def filter_by(self, key: str, value: object) -> None:
        """Right-click "Filter by this value": through the column's combo when it has one."""
        combo = self.combos.get(key)
        if combo is not None:
            self.refresh_choices()
            if combo.findText(str(value)) >= 0:
                combo.setCurrentText(str(value))
                return
        self.model.set_predicate(key, {value})
        self.stack.keep_view(self._filtering())
        self._update_count()

    def clear_filters(self) -> None:
        for combo in self.combos.values():
            combo.setCurrentText(ALL)
        for key in list(self.model._predicates):
            self.model.set_predicate(key, None)
        self.filter.clear()
        self._update_count()

    def _fill_menu(self, menu: QMenu, _rows: list[int]) -> None:
        """The blotter's own commands on top of the shared grid menu."""
        if not self.actions_:
            return
        rows = self.selected_rows()
        for act in self.actions_:
            label = act.text + (f"  ({act.why_not})" if act.why_not else "")
            qa = menu.addAction(label)
            if act.shortcut:
                qa.setShortcut(QKeySequence(act.shortcut))
            qa.setEnabled(not act.why_not and act.enabled(rows))
            qa.triggered.connect(
                lambda _c=False, a=act: a.run([r[self.model.key] for r in rows if self.model.key])
            )
