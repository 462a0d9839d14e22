"""Allocations dock: block orders → their children's allocations (quantity and average price per
account), live as blocks finish; the order blotter's "Show allocations" filters it to one block.

Each row also shows the block's FIX AllocationInstruction (its AllocID and status) and, when the
broker rejected it, the broker's reason. A rejected one is re-sent after correction with the
"Re-send allocation…" button or Ctrl+Shift+R: a dialog shows the reason and each account's
AllocAccount to correct, and the OMS sends a Replace (orders.route, audited)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.views.allocations import allocations, block_summary, instruction_list
from ui.desk import Desk
from ui.oms_link import link_of
from ui.panels.trading_panels import SHOW_ALLOCATIONS, LiveTablePanel
from widgets.blotter import RowAction
from widgets.columns import Column
from widgets.formatting import fmt_price, fmt_qty

ALLOCATION_COLUMNS = [
    Column("block", "Block"),
    Column("account", "Account"),
    Column("symbol", "Symbol"),
    Column("side", "Side"),
    Column("quantity", "Allocated", "qty"),
    Column("avg_px", "Avg price", "price"),
    Column(
        "alloc_status",
        "At broker",
        tooltip="the block's FIX AllocationInstruction (35=J) and the broker's answer",
    ),
    Column("alloc_reason", "Broker's reason", tooltip="why the broker rejected the allocation"),
    Column("booked", "Booked", tooltip="booked into the account's lots and cash by accounting"),
    Column("currency", "Ccy"),
    Column("block_filled", "Block filled", "qty"),
    Column("block_qty", "Block qty", "qty"),
    Column("trade_date", "Trade date"),
    Column("settle_date", "Settles"),
    Column("child", "Child order"),
    Column("alloc_id", "AllocID"),
]
RESEND_KEY = "Ctrl+Shift+R"


def _rejected(rows: list[dict[str, object]]) -> bool:
    return len({r.get("alloc_id") for r in rows}) == 1 and rows[0].get("alloc_status") == "rejected"


class ResendDialog(QDialog):
    """The broker's reason and each account's AllocAccount, editable: the correction to re-send."""

    def __init__(self, instruction: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Re-send allocation {instruction['alloc_id']}")
        self.instruction = instruction
        layout = QVBoxLayout(self)
        why = QLabel(
            f"{instruction['broker']} rejected the allocation of {instruction['block']} "
            f"({fmt_qty(instruction['quantity'])} {instruction['symbol']}):\n{instruction['reason'] or 'no reason given'}"
        )
        why.setWordWrap(True)
        layout.addWidget(why)
        form = QFormLayout()
        self.edits: dict[str, QLineEdit] = {}
        for line in instruction["allocs"]:
            edit = QLineEdit(str(line["alloc_account"]))
            edit.setToolTip("the account number the broker knows this account by (AllocAccount, tag 79)")
            self.edits[line["account"]] = edit
            form.addRow(f"{line['account']} ({fmt_qty(line['quantity'])})", edit)
        layout.addLayout(form)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Re-send as Replace")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def corrections(self) -> dict[str, str]:
        """Account code -> corrected AllocAccount, for the accounts changed (blank ones are kept)."""
        was = {x["account"]: str(x["alloc_account"]) for x in self.instruction["allocs"]}
        return {
            code: e.text().strip()
            for code, e in self.edits.items()
            if e.text().strip() not in ("", was[code])
        }


class AllocationsPanel(LiveTablePanel):
    name = "allocations"
    title = "Allocations"
    columns = ALLOCATION_COLUMNS
    filters = [
        ("block", "Block"),
        ("account", "Account"),
        ("booked", "Booked"),
        ("alloc_status", "At broker"),
    ]
    empty = "No allocations yet — a block's fills are allocated to its accounts when the block is done"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.summary = QLabel("")
        self.summary.setContentsMargins(6, 2, 6, 2)
        self.resend_button = QPushButton("Re-send allocation…")
        self.resend_button.setToolTip(
            f"re-send the selected rejected allocation after correction ({RESEND_KEY})"
        )
        self.resend_button.setEnabled(False)
        self.resend_button.clicked.connect(lambda: self.blotter.trigger(self._resend_action))
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.blotter, 1)
        footer = QHBoxLayout()
        footer.addWidget(self.summary, 1)
        footer.addWidget(self.resend_button)
        layout.addLayout(footer)
        self.setWidget(body)
        self._resend_action = RowAction(
            "Re-send allocation after correction…", self.ask_resend, _rejected, shortcut=RESEND_KEY
        )
        self.blotter.set_actions([self._resend_action])
        m = self.blotter.model
        for sig in (m.modelReset, m.rowsInserted, m.rowsRemoved, m.dataChanged, m.layoutChanged):
            sig.connect(self._summarise)
            sig.connect(self._enable)
        self.blotter.view.selectionModel().selectionChanged.connect(self._enable)
        desk.data_changed.connect(self._show_block)
        self.dialog = ResendDialog

    def fetch(self, ids: list[int] | None) -> pd.DataFrame:
        return allocations(self.desk.database, ids)

    def _enable(self, *_: object) -> None:
        self.resend_button.setEnabled(_rejected(self.blotter.selected_rows()))

    def ask_resend(self, keys: list[object]) -> None:
        """Open the correction dialog for the selected row's rejected allocation, then re-send it."""
        rows = self.blotter.selected_rows()
        if not rows:
            return
        alloc_id = str(rows[0]["alloc_id"])
        database = self.desk.database

        def opened(found: object) -> None:
            if not isinstance(found, dict):
                return
            dialog = self.dialog(found, self)
            if dialog.exec() == QDialog.DialogCode.Accepted:
                self.resend(alloc_id, dialog.corrections())

        self.desk.run(
            "Allocation",
            lambda _t: next(
                (r for r in instruction_list(database, "rejected") if r["alloc_id"] == alloc_id), None
            ),
            opened,
        )

    def resend(self, alloc_id: str, corrections: dict[str, str]) -> None:
        """Re-send through the desk's OMS (sent now if its FIX session is up, else at its logon)."""
        user = self.desk.user.username
        link = link_of(self.desk)
        self.desk.run(
            "Re-send allocation",
            lambda _t: link.call(lambda: link.manager.resend_allocation(alloc_id, user, corrections)),
            lambda new: self.desk.message.emit(f"allocation {alloc_id} re-sent as {new} (Replace)"),
            lambda msg: self.desk.message.emit(f"Re-send allocation refused: {msg}"),
        )

    def _summarise(self, *_: object) -> None:
        m = self.blotter.model
        if not m.rowCount():
            self.summary.setText("")
            return
        frame = pd.DataFrame(
            {
                k: m.column_values(k)
                for k in ("block", "account", "quantity", "avg_px", "block_filled", "currency")
            }
        )
        s = block_summary(frame)
        parts = [
            f"{r.block}: {fmt_qty(r.allocated)} of {fmt_qty(r.filled)} filled to {r.accounts} account(s)"
            f" @ {fmt_price(r.avg_px)}"
            for r in s.itertuples()
        ]
        more = f" (+{len(parts) - 3} more blocks)" if len(parts) > 3 else ""
        rejected = len(set(m.column_values("alloc_id")[m.column_values("alloc_status") == "rejected"]))
        warn = (
            f" · {rejected} allocation(s) rejected by the broker ({RESEND_KEY} re-sends)" if rejected else ""
        )
        self.summary.setText(" · ".join(parts[:3]) + more + warn)

    def _show_block(self, what: str) -> None:
        if what.startswith(SHOW_ALLOCATIONS):
            self.show()
            self.raise_()
            if not self.loaded:
                self.refresh()
            self.blotter.model.set_text_filter(what[len(SHOW_ALLOCATIONS) :])
