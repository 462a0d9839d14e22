"""A dense QTableView for FrameTableModel: header click sorts in the model, Ctrl+C copies TSV, and
every grid gets the same right-click menu (copy, export, open, filter by this value, columns) and
a column chooser on the header."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import QContextMenuEvent, QGuiApplication, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QFileDialog, QHeaderView, QMenu, QTableView, QWidget

from widgets.export import export_frame, selection_tsv
from widgets.table_model import RAW_ROLE, FrameTableModel

MenuHook = Callable[[QMenu, list[int]], None]
"""Adds a grid's own entries (e.g. a blotter's order commands) to the top of its menu."""


def _missing(value: Any) -> bool:
    return value is None or value != value  # None, NaN, NaT


class DataTableView(QTableView):
    """Compact rows, sortable headers, extended selection, Excel-friendly copy, the desk's menu."""

    filter_requested = Signal(str, object)
    """(column key, raw value): "Filter by this value"; the owner may route it to its combos."""
    filters_cleared = Signal()
    columns_changed = Signal()
    """A column was shown or hidden (the window saves the choice per user)."""

    def __init__(self, model: FrameTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModel(model)
        self.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # keep load order
        self.setSortingEnabled(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.menu_hook: MenuHook | None = None
        self.drill: tuple[str, Callable[[QModelIndex], object]] | None = None
        self.export_name = "table"
        self.last_menu: QMenu | None = None
        self.filter_requested.connect(self._default_filter)
        self.filters_cleared.connect(self._default_clear)
        self._route_filters = False

    def frame_model(self) -> FrameTableModel:
        model = self.model()
        assert isinstance(model, FrameTableModel)
        return model

    def fit_columns(self, sample: int = 200, measured: int = 4) -> None:
        """Size columns to header and content of the first rows (not all 100k). Only the
        `measured` longest texts of each column are measured in pixels: measuring all 200 x 13
        cells of the accounts grid (a QModelIndex and a font measure each) was ~40 ms of the GUI
        thread when the fresh book arrived."""
        fm = self.fontMetrics()
        model = self.frame_model()
        rows = min(model.rowCount(), sample)
        for c, col in enumerate(model.columns):
            texts = {model.display_text(r, c) for r in range(rows)}
            longest = sorted((t for t in texts if t), key=len)[-measured:]
            width = max(
                [fm.horizontalAdvance(col.title) + 28] + [fm.horizontalAdvance(t) + 16 for t in longest]
            )
            self.setColumnWidth(c, min(width, 360))

    # ---- copy and export -----------------------------------------------------------------------
    def copy_selection(self) -> str:
        chosen = [i for i in self.selectionModel().selectedIndexes() if not self.isColumnHidden(i.column())]
        text = selection_tsv(self.frame_model(), chosen)
        if text:
            QGuiApplication.clipboard().setText(text)
        return text

    def shown_keys(self) -> list[str]:
        model = self.frame_model()
        return [c.key for i, c in enumerate(model.columns) if not self.isColumnHidden(i)]

    def export(self, path: Path) -> int:
        """The visible rows and columns to CSV or XLSX (by suffix); returns rows written."""
        return export_frame(self.frame_model(), path, self.shown_keys())

    def export_dialog(self, suffix: str) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export", f"{self.export_name}{suffix}", f"*{suffix}")
        if name:
            self.export(Path(name))

    # ---- filters -------------------------------------------------------------------------------
    def route_filters(self) -> None:
        """The owner handles filter_requested / filters_cleared itself (e.g. through its combos)."""
        self._route_filters = True

    def _default_filter(self, key: str, value: object) -> None:
        if not self._route_filters:
            self.frame_model().set_predicate(key, {value})

    def _default_clear(self) -> None:
        if not self._route_filters:
            model = self.frame_model()
            for key in list(model._predicates):
                model.set_predicate(key, None)
            model.set_text_filter("")

    def filter_by(self, index: QModelIndex) -> None:
        """Keep the rows whose value in this column equals the clicked cell's."""
        col = self.frame_model().columns[index.column()]
        self.filter_requested.emit(col.key, self.frame_model().data(index, RAW_ROLE))

    # ---- columns -------------------------------------------------------------------------------
    def set_column_shown(self, column: int, shown: bool) -> None:
        """Show or hide a column (never the last one shown)."""
        if not shown and len(self.shown_keys()) <= 1:
            return
        if self.isColumnHidden(column) == shown:
            self.setColumnHidden(column, not shown)
            self.columns_changed.emit()

    def hidden_keys(self) -> list[str]:
        model = self.frame_model()
        return [c.key for i, c in enumerate(model.columns) if self.isColumnHidden(i)]

    def hide_keys(self, keys: set[str]) -> None:
        """Hide the columns with these keys, show the others (a saved choice; unknown keys ignored)."""
        for i, col in enumerate(self.frame_model().columns):
            self.setColumnHidden(i, col.key in keys)
        if not self.shown_keys():
            self.show_all_columns()

    def columns_menu(self, parent: QMenu | None = None) -> QMenu:
        menu = QMenu("Columns", parent or self)
        model = self.frame_model()
        for i, col in enumerate(model.columns):
            act = menu.addAction(col.title)
            act.setCheckable(True)
            act.setChecked(not self.isColumnHidden(i))
            act.toggled.connect(lambda on, c=i: self.set_column_shown(c, on))
        menu.addSeparator()
        menu.addAction("Show all columns", self.show_all_columns)
        return menu

    def show_all_columns(self) -> None:
        for i in range(self.frame_model().columnCount()):
            self.setColumnHidden(i, False)
        self.columns_changed.emit()

    def _header_menu(self, pos: QPoint) -> None:
        menu = self.columns_menu()
        self.last_menu = menu
        menu.popup(self.horizontalHeader().mapToGlobal(pos))

    # ---- the right-click menu ------------------------------------------------------------------
    def context_menu(self, index: QModelIndex) -> QMenu:
        """The menu for a right-click on `index` (tests read its actions)."""
        menu = QMenu(self)
        rows = sorted({i.row() for i in self.selectionModel().selectedIndexes()})
        if self.menu_hook is not None:
            self.menu_hook(menu, rows)
            if not menu.isEmpty():
                menu.addSeparator()
        if self.drill is not None and index.isValid():
            text, fn = self.drill
            menu.addAction(text, lambda: fn(index))
        copy = menu.addAction("Copy", self.copy_selection)
        copy.setShortcut(QKeySequence.StandardKey.Copy)
        copy.setEnabled(bool(rows))
        export = menu.addMenu("Export visible rows")
        export.addAction("CSV…", lambda: self.export_dialog(".csv"))
        export.addAction("Excel…", lambda: self.export_dialog(".xlsx"))
        menu.addSeparator()
        if index.isValid():
            model = self.frame_model()
            col = model.columns[index.column()]
            raw = model.data(index, RAW_ROLE)
            label = f"Filter: {col.title} = {str(model.data(index) or '')[:40] or '(blank)'}"
            act = menu.addAction(label, lambda: self.filter_by(index))
            act.setEnabled(not _missing(raw))
        menu.addAction("Clear filters", self.filters_cleared.emit)
        menu.addSeparator()
        menu.addMenu(self.columns_menu(menu))
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        index = self.indexAt(event.pos())
        if index.isValid() and not self.selectionModel().isSelected(index):
            self.setCurrentIndex(index)  # right-click acts on the row under the mouse
        menu = self.context_menu(index)
        self.last_menu = menu
        menu.popup(event.globalPos())

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            self.copy_selection()
            event.accept()
            return
        super().keyPressEvent(event)
