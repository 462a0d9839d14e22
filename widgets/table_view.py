"""A dense QTableView for FrameTableModel: header click sorts in the model, Ctrl+C copies TSV."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from widgets.export import selection_tsv
from widgets.table_model import FrameTableModel


class DataTableView(QTableView):
    """Compact rows, sortable headers, extended selection and Excel-friendly copy."""

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
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)

    def frame_model(self) -> FrameTableModel:
        model = self.model()
        assert isinstance(model, FrameTableModel)
        return model

    def fit_columns(self, sample: int = 200) -> None:
        """Size columns to header and content of the first rows (not all 100k)."""
        fm = self.fontMetrics()
        model = self.frame_model()
        rows = min(model.rowCount(), sample)
        for c, col in enumerate(model.columns):
            width = fm.horizontalAdvance(col.title) + 28
            for r in range(rows):
                text = model.data(model.index(r, c))
                if text:
                    width = max(width, fm.horizontalAdvance(str(text)) + 16)
            self.setColumnWidth(c, min(width, 360))

    def copy_selection(self) -> str:
        text = selection_tsv(self.frame_model(), self.selectionModel().selectedIndexes())
        if text:
            QGuiApplication.clipboard().setText(text)
        return text

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            self.copy_selection()
            event.accept()
            return
        super().keyPressEvent(event)
