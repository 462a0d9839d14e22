"""Edit a proposed trade from the proposals dock: change its quantity or remove it (keyboard first:
F2 or Enter on a trade opens the dialog with the quantity selected, Enter applies, Alt+R removes,
Esc cancels; Del removes the selected trade after a question). The edit runs in a worker through
`engine.views.proposal_review.edit_trade` (engine.rebalance.trade_edit: audited, re-checked exactly,
refused without rebalance.run) and the proposal's row and detail are read again."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QDoubleValidator, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.views import proposal_review
from widgets.formatting import fmt_qty


class TradeEditDialog(QDialog):
    """New quantity for one trade, or its removal; `choice` is (quantity or None, remove) once accepted."""

    def __init__(self, proposal_id: int, trade: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Edit trade — proposal {proposal_id}")
        self.trade = trade
        self.choice: tuple[float | None, bool] | None = None
        q = float(trade.get("quantity") or 0.0)
        form = QFormLayout()
        form.addRow("Trade:", QLabel(f"<b>{trade.get('side', '')} {trade.get('symbol', '')}</b>"))
        form.addRow("Proposed quantity:", QLabel(fmt_qty(q)))
        self.quantity = QLineEdit(f"{q:g}")
        validator = QDoubleValidator(0.0, 1e15, 6, self.quantity)
        validator.setNotation(QDoubleValidator.Notation.StandardNotation)
        self.quantity.setValidator(validator)
        self.quantity.setToolTip("the trade's new quantity, above 0 (Enter applies)")
        form.addRow("&New quantity:", self.quantity)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        hint = QLabel(
            "Enter applies, Alt+R removes the trade, Esc cancels. The proposal is then re-checked "
            "exactly (cash, no short sale, board lots, restrictions, household, compliance) and cannot "
            "be accepted until the re-check passes."
        )
        hint.setWordWrap(True)
        buttons = QDialogButtonBox()
        self.apply_button = buttons.addButton("&Apply", QDialogButtonBox.ButtonRole.AcceptRole)
        self.remove_button: QPushButton = buttons.addButton(
            "&Remove trade", QDialogButtonBox.ButtonRole.DestructiveRole
        )
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.apply_button.setDefault(True)
        self.apply_button.clicked.connect(self.apply)
        self.remove_button.clicked.connect(self.remove)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(hint)
        lay.addWidget(buttons)
        self.setMinimumWidth(420)
        self.quantity.selectAll()
        self.quantity.setFocus()

    def apply(self) -> None:
        text = self.quantity.text().replace(",", "").strip()
        try:
            q = float(text)
        except ValueError:
            q = -1.0
        if not q > 0:
            self.error.setText(
                f"New quantity: {text or '(empty)'} is not a number above 0 (remove the trade instead)"
            )
            self.quantity.setFocus()
            return
        self.choice = (q, False)
        self.accept()

    def remove(self) -> None:
        self.choice = (None, True)
        self.accept()


class TradeEditMixin:
    """The proposals dock's trade edits: needs its desk, trades model and view, and re-reads."""

    desk: Any
    trades: Any
    trades_view: Any
    current_proposal: int | None
    last_edit: dict[str, Any] | None

    def setup_trade_edit(self) -> None:
        """Menu entries, F2/Enter/Del and double-click on the trades grid."""
        self.current_proposal = None
        self.last_edit = None
        view = self.trades_view
        view.menu_hook = self._trade_menu
        for key, fn in (
            ("F2", self.edit_selected_trade),
            ("Return", self.edit_selected_trade),
            ("Enter", self.edit_selected_trade),
            ("Del", self.remove_selected_trade),
        ):
            sc = QShortcut(QKeySequence(key), view)
            sc.setContext(Qt.ShortcutContext.WidgetShortcut)
            sc.activated.connect(fn)
        view.doubleClicked.connect(lambda _i: self.edit_selected_trade())

    def _trade_menu(self, menu: QMenu, rows: list[int]) -> None:
        on = self.current_proposal is not None and bool(rows)
        menu.addAction("Edit quantity… (F2)", self.edit_selected_trade).setEnabled(on)
        menu.addAction("Remove trade (Del)", self.remove_selected_trade).setEnabled(on)

    def selected_trade(self) -> dict[str, Any] | None:
        idx = self.trades_view.currentIndex()
        if self.current_proposal is None or not idx.isValid():
            return None
        return {k: self.trades.value(idx.row(), k) for k in ("symbol", "side", "quantity")}

    def edit_selected_trade(self) -> None:
        trade = self.selected_trade()
        if trade is None or self.current_proposal is None:
            return
        dialog = TradeEditDialog(self.current_proposal, trade, self.trades_view)
        if dialog.exec() and dialog.choice is not None:
            quantity, remove = dialog.choice
            self.apply_trade_edit(str(trade["symbol"]), quantity, remove)

    def remove_selected_trade(self) -> None:
        trade = self.selected_trade()
        if trade is None:
            return
        asked = QMessageBox.question(
            self.trades_view,
            "Remove trade",
            f"Remove {trade['side']} {trade['symbol']} from proposal {self.current_proposal}? "
            "The proposal is re-checked.",
        )
        if asked == QMessageBox.StandardButton.Yes:
            self.apply_trade_edit(str(trade["symbol"]), None, True)

    def apply_trade_edit(self, symbol: str, quantity: float | None, remove: bool) -> None:
        """Edit the trade of the shown proposal in a worker; the outcome goes to the status line."""
        pid = self.current_proposal
        if pid is None:
            return
        user, database = self.desk.user.username, self.desk.database

        def work(_t: object) -> dict[str, Any]:
            return proposal_review.edit_trade(database, user, pid, symbol, quantity, remove)

        def done(out: dict[str, Any]) -> None:
            self.last_edit = out
            after = "removed" if remove else fmt_qty(float(out["after"]))
            said = f"Proposal {pid}: {out['side']} {symbol} {fmt_qty(float(out['before']))} → {after}; "
            if out["ok"]:
                said += f"re-check passed, compliance {out['compliance'].get('outcome', '')}"
            else:
                said += "re-check FAILED (it cannot be accepted): " + "; ".join(out["violations"][:3])
            self.desk.message.emit(said)
            self.reread([pid])  # type: ignore[attr-defined]
            self.show_proposal(pid)  # type: ignore[attr-defined]

        def failed(msg: str) -> None:
            self.last_edit = {"error": msg}
            self.desk.message.emit(f"Edit refused (nothing changed): {msg}")

        self.desk.run(f"Re-checking proposal {pid}", work, done, failed)
