"""Operations: corporate actions. Every action (pending approval, announced, booked, rejected)
with its dates and terms; "Enter action…" enters one by hand as the signed-in user (pending until
a different user approves it: four-eyes) and Approve / Reject decide a pending one. The engine
(engine.corporate.entry) checks the permissions and refuses self-approval; its message is shown.
"""

from __future__ import annotations

from datetime import date
from decimal import InvalidOperation
from typing import Any

import pandas as pd
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QInputDialog,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.corporate.terms import ActionTerms
from engine.views import corporate as view
from ui.desk import Desk
from ui.panels.base import Panel
from widgets.blotter import Blotter, RowAction
from widgets.columns import Column
from widgets.elided_label import ElidedLabel
from widgets.flow_layout import FlowBar

COLUMNS = [
    Column("ref", "Ref"),
    Column("kind", "Kind", "words"),
    Column("security", "Security"),
    Column("status", "Status", "words"),
    Column("ex_date", "Ex date"),
    Column("pay_date", "Pay date"),
    Column("booking_date", "Books on"),
    Column("terms", "Terms"),
    Column("entered_by", "Entered by"),
    Column("decided_by", "Decided by"),
    Column("source", "Source"),
]
APPROVE_KEY, REJECT_KEY, ENTER_KEY = "Alt+A", "Alt+R", "Ctrl+Shift+E"
PENDING = "pending_approval"
DATE_FIELDS = ("ex_date", "announce_date", "record_date", "pay_date")
NUMBER_FIELDS = ("ratio_new", "ratio_old", "amount", "allocation", "new_price", "lieu_price")
TEXT_FIELDS = ("new_security", "new_symbol", "new_isin")


class EnterActionDialog(QDialog):
    """One corporate action's terms; dates as YYYY-MM-DD, blanks for what the kind does not need."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Enter corporate action")
        self.fields: dict[str, QLineEdit] = {}
        form = QFormLayout(self)
        self.kind = QComboBox()
        self.kind.addItems(list(view.KIND_CHOICES))
        form.addRow("Kind:", self.kind)
        hints = {"ref": "a unique reference, e.g. CA-2026-001", "security": "symbol or ISIN",
                 "ex_date": "YYYY-MM-DD (required)", "ratio_new": "new shares (split 2 for 1: 2)",
                 "ratio_old": "old shares (split 2 for 1: 1)", "amount": "cash per share held",
                 "allocation": "basis fraction to the new security (0-1)",
                 "new_security": "symbol or ISIN received (merger, spin-off)"}  # fmt: skip
        for name in ("ref", "security", *DATE_FIELDS, *NUMBER_FIELDS, *TEXT_FIELDS):
            edit = QLineEdit()
            edit.setPlaceholderText(hints.get(name, "YYYY-MM-DD" if name in DATE_FIELDS else ""))
            self.fields[name] = edit
            form.addRow(name.replace("_", " ").capitalize() + ":", edit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Enter (pending approval)")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def set(self, **values: str) -> None:
        for k, v in values.items():
            if k == "kind":
                self.kind.setCurrentText(v)
            else:
                self.fields[k].setText(v)

    def terms(self) -> ActionTerms:
        """The terms typed; ValueError naming the field when one cannot be read."""
        text = {k: e.text().strip() for k, e in self.fields.items()}
        values: dict[str, Any] = {}
        for k in DATE_FIELDS:
            try:
                values[k] = date.fromisoformat(text[k]) if text[k] else None
            except ValueError:
                raise ValueError(f"{k}: {text[k]!r} is not a date (YYYY-MM-DD)") from None
        if values["ex_date"] is None:
            raise ValueError("ex_date: required")
        for k in NUMBER_FIELDS:
            try:
                values[k] = view.decimal_or_none(text[k])
            except InvalidOperation:
                raise ValueError(f"{k}: {text[k]!r} is not a number") from None
        for k in TEXT_FIELDS:
            values[k] = text[k] or None
        return ActionTerms(ref=text["ref"], kind=self.kind.currentText(), security=text["security"], **values)


class CorporatePanel(Panel):
    name = "corporate"
    title = "Corporate actions"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.blotter = Blotter(
            COLUMNS,
            "ref",
            "No corporate actions yet: a vendor file in the inbox, `workstation corporate add` or "
            "Enter action… puts them here",
            [("status", "Status"), ("kind", "Kind")],
        )
        self.blotter.view.export_name = self.name
        pending = lambda rows: bool(rows) and all(r.get("status") == PENDING for r in rows)  # noqa: E731
        why = "only an action pending approval, entered by someone else"
        self.blotter.set_actions(
            [
                RowAction(f"Approve  ({APPROVE_KEY})", lambda keys: self.ask_decide("approve", keys), pending, why,
                          APPROVE_KEY),
                RowAction(f"Reject…  ({REJECT_KEY})", lambda keys: self.ask_decide("reject", keys), pending, why,
                          REJECT_KEY),
            ]
        )  # fmt: skip
        self.enter_button = QPushButton("Enter action…")
        self.enter_button.setShortcut(QKeySequence(ENTER_KEY))
        self.enter_button.setToolTip(
            f"Enter a corporate action by hand ({ENTER_KEY}); a colleague approves it"
        )
        self.enter_button.clicked.connect(self.ask_enter)
        self.approve_button = QPushButton("Approve")
        self.approve_button.setToolTip(f"Approve the selected pending action ({APPROVE_KEY})")
        self.approve_button.clicked.connect(lambda: self.ask_decide("approve", self._selected()))
        self.reject_button = QPushButton("Reject…")
        self.reject_button.setToolTip(f"Reject the selected pending action, with a reason ({REJECT_KEY})")
        self.reject_button.clicked.connect(lambda: self.ask_decide("reject", self._selected()))
        self.notice = ElidedLabel("")
        bar = FlowBar()
        bar.add(self.enter_button)
        bar.add(self.approve_button)
        bar.add(self.reject_button)
        bar.add(self.notice, grow=True)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(bar)
        layout.addWidget(self.blotter, 1)
        self.setWidget(body)
        self.reload_after("daycycle")  # a close books, revalues and reconciles

    def _selected(self) -> list[object]:
        return [r["ref"] for r in self.blotter.selected_rows()]

    def load(self) -> None:
        self.desk.run("Loading corporate actions", lambda _t: view.actions(self.desk.database), self._loaded)

    def _loaded(self, rows: list[dict[str, Any]]) -> None:
        self.blotter.model.set_frame(pd.DataFrame(rows, columns=[c.key for c in COLUMNS]))
        self.blotter.view.fit_columns()
        waiting = sum(1 for r in rows if r["status"] == PENDING)
        if not self.notice.text().startswith(("Refused", "Entered", "Approved", "Rejected")):
            self.notice.setText(f"{waiting} pending approval" if waiting else "")

    # -- entering and deciding -------------------------------------------------------------
    def ask_enter(self) -> None:
        dialog = EnterActionDialog(self)
        while dialog.exec() == QDialog.DialogCode.Accepted:
            try:
                terms = dialog.terms()
            except ValueError as exc:
                dialog.setWindowTitle(f"Enter corporate action: {exc}")
                continue
            self.enter(terms)
            return

    def enter(self, terms: ActionTerms) -> None:
        """Enter `terms` as the signed-in user in a worker (pending approval)."""
        user = self.desk.user.username
        self.desk.run(
            f"Entering {terms.ref}",
            lambda _t: view.enter(self.desk.database, terms, user),
            lambda ref: self._done(f"Entered {ref}: pending approval by another user"),
            self._refused,
        )

    def ask_decide(self, verb: str, refs: list[object]) -> None:
        if not refs:
            self.notice.setText("Select an action pending approval first")
            return
        reason: str | None = None
        if verb == "reject":
            text, ok = QInputDialog.getText(self, "Reject corporate action", "Reason:")
            if not ok:
                return
            reason = text
        self.decide(verb, [str(r) for r in refs], reason)

    def decide(self, verb: str, refs: list[str], reason: str | None = None) -> None:
        """Approve or reject `refs` as the signed-in user in a worker; a refusal is shown."""
        user = self.desk.user.username

        def work(_t: Any) -> list[str]:
            return [view.decide(self.desk.database, ref, verb, user, reason) for ref in refs]

        past = {"approve": "Approved", "reject": "Rejected"}[verb]
        self.desk.run(f"{past[:-1]}ing {', '.join(refs)}", work,
                      lambda _s: self._done(f"{past} {', '.join(refs)}"), self._refused)  # fmt: skip

    def _done(self, message: str) -> None:
        self.notice.setText(message)
        self.desk.message.emit(message)
        self.desk.data_changed.emit("corporate")
        self.load()

    def _refused(self, message: str) -> None:
        self.notice.setText(f"Refused: {message}")
        self.desk.message.emit(f"Refused: {message}")
        self.load()

    def apply_theme(self, dark: bool) -> None:
        self.blotter.dark = dark
        self.blotter.view.viewport().update()
