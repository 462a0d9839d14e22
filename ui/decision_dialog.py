"""Approve or reject with a reason code and a comment (the compliance service requires both)."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLineEdit, QWidget

from engine.views.approvals import REASON_CODES


class DecisionDialog(QDialog):
    def __init__(self, decision: str, case_ids: list[int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{decision.title()} {len(case_ids)} case(s)")
        self.reason = QComboBox()
        self.reason.addItems(list(REASON_CODES))
        self.comment = QLineEdit()
        self.comment.setPlaceholderText("why (kept in the audit trail)")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Reason", self.reason)
        form.addRow("Comment", self.comment)
        form.addRow(buttons)
