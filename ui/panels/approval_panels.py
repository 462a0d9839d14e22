"""Compliance panels: the approval queue (approve/reject through the service) and the audit trail."""

from __future__ import annotations

import pandas as pd
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from ui.data.approvals import case_rules
from ui.data.approvals import decide as decide_case
from ui.data.approvals import queue as approval_queue
from ui.data.audit import audit_entries
from ui.decision_dialog import DecisionDialog
from ui.desk import Desk
from ui.panels.trading_panels import LiveTablePanel
from widgets.blotter import RowAction
from widgets.columns import Column
from widgets.empty_state import EmptyStateStack
from widgets.table_model import FrameTableModel
from widgets.table_view import DataTableView

QUEUE_COLUMNS = [
    Column("id", "Case", "int"),
    Column("entity", "Entity"),
    Column("entity_id", "Id"),
    Column("outcome", "Check"),
    Column("hard_block", "Block"),
    Column("summary", "Trades"),
    Column("orders", "Orders", "int"),
    Column("created_by", "Created by"),
    Column("approvals", "Approved by"),
    Column("opened_at", "Opened", "datetime"),
]
RULE_COLUMNS = [
    Column("outcome", "Result"),
    Column("rule", "Rule"),
    Column("severity", "Severity", tooltip="hard: blocks (two approvers); soft: flags; info: warns"),
    Column("limit", "Limit", "rate"),
    Column("before", "Before", "rate"),
    Column("after", "After", "rate"),
    Column("symbol", "Symbol"),
    Column("side", "Side"),
    Column("quantity", "Quantity", "qty"),
    Column("account", "Account"),
    Column("message", "What the rule says"),
]
AUDIT_COLUMNS = [
    Column("at", "When", "datetime"),
    Column("username", "User"),
    Column("action", "Action"),
    Column("entity", "Entity"),
    Column("entity_id", "Id"),
    Column("reason", "Reason"),
    Column("hash", "Hash"),
]


NO_CASES = (
    "When a PM accepts a proposal or a trader's order needs review, the compliance check runs; "
    "whatever a rule flags or blocks waits in the queue above, and selecting it shows each rule's "
    "limit, before and after here"
)


class ApprovalQueuePanel(LiveTablePanel):
    """The compliance service's queue of pending cases; approve or reject with a reason."""

    name = "approvals"
    title = "Approval queue"
    columns = QUEUE_COLUMNS
    id_attrs = ("case_id", "case_ids")
    filters = [("entity", "Entity"), ("outcome", "Outcome"), ("created_by", "Created by")]
    empty = "Nothing awaits review — flagged proposals and orders appear here for approval"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.blotter.set_actions(
            [
                RowAction("Approve…", lambda keys: self.decide("approve", keys)),
                RowAction("Reject…", lambda keys: self.decide("reject", keys)),
            ]
        )
        desk.data_changed.connect(self._changed)
        self.blotter.setParent(None)
        self.rules = FrameTableModel(RULE_COLUMNS, key="key")
        self.rules.clear()
        self.rules_view = DataTableView(self.rules)
        self.rules_stack = EmptyStateStack(
            self.rules_view, self.rules, "Select a case to see each rule's result: limit, before, after"
        )
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lower = QWidget()
        lay = QVBoxLayout(lower)
        lay.setContentsMargins(4, 2, 4, 0)
        lay.addWidget(self.detail)
        lay.addWidget(self.rules_stack, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.blotter)
        split.addWidget(lower)
        split.setSizes([260, 240])
        self.setWidget(split)
        self.case_id: int | None = None
        self.blotter.view.selectionModel().currentRowChanged.connect(
            lambda cur, _prev: (
                cur.isValid() and self.show_case(int(self.blotter.model.value(cur.row(), "id")))
            )
        )

    def fetch(self, ids: list[int] | None) -> pd.DataFrame:
        return approval_queue(self.desk.database)

    def load(self) -> None:
        self.desk.run("Loading the approval queue", lambda _t: self.fetch(None), self._loaded)

    def _loaded(self, frame: pd.DataFrame) -> None:
        """Show the queue; keep the case in the detail pane, else open the oldest case."""
        self.blotter.model.set_frame(frame)
        model = self.blotter.model
        row = model.view_row_of_key(self.case_id) if self.case_id is not None else -1
        if row < 0 and model.rowCount():
            row = 0
        if row >= 0:
            self.blotter.view.setCurrentIndex(model.index(row, 0))  # shows it (currentRowChanged)
        else:
            self.case_id = None
            self.rules.clear()
            self.detail.setText("")
            self.rules_stack.set_message(NO_CASES)

    def show_case(self, case_id: int) -> None:
        """Load one case's rule results (worst first) and decisions in a worker."""
        self.case_id = case_id

        def show(result: tuple[dict[str, object], pd.DataFrame]) -> None:
            detail, frame = result
            if detail.get("id") != self.case_id:
                return  # a later selection won
            self.rules.set_frame(frame)
            self.rules_view.fit_columns()
            hits = frame[frame["outcome"] != "pass"]
            decisions = detail.get("decisions") or []
            said = "; ".join(
                f"{d['user']} {d['decision']}d ({d['reason_code']}{': ' + d['comment'] if d['comment'] else ''})"
                for d in decisions  # type: ignore[union-attr]
            )
            self.detail.setText(
                f"<b>Case {detail['id']}</b> · {detail['entity']} {detail['entity_id']} · {detail['state']} · "
                f"check <b>{detail['outcome']}</b>{' · HARD BLOCK: two approvers' if detail['hard_block'] else ''}"
                f" · by {detail['created_by']} · {len(hits)} of {len(frame)} rule result(s) not passed"
                + (f"<br>Decisions: {said}" if said else "")
            )

        self.desk.run("Loading case", lambda _t: case_rules(self.desk.database, case_id), show)

    def _changed(self, what: str) -> None:
        if self.loaded and what == "approvals":
            self.load()

    def _reload_dirty(self) -> None:
        self._dirty = set()
        self.load()

    def decide(self, decision: str, keys: list[object], reason: str | None = None, comment: str = "") -> None:
        """Decide every selected case through the compliance service, in a worker."""
        ids = [int(k) for k in keys]  # type: ignore[call-overload]
        if not ids:
            return
        if reason is None:
            dialog = DecisionDialog(decision, ids, self)
            if dialog.exec() != DecisionDialog.DialogCode.Accepted:
                return
            reason, comment = dialog.reason.currentText(), dialog.comment.text()
        user = self.desk.user.username

        def run(_t: object) -> list[str]:
            return [decide_case(self.desk.database, user, i, decision, str(reason), comment) for i in ids]

        def done(states: list[str]) -> None:
            self.desk.message.emit(f"{decision}: {len(states)} case(s) now {', '.join(sorted(set(states)))}")
            self.load()
            self.desk.data_changed.emit("approvals")

        def failed(msg: str) -> None:
            self.desk.message.emit(f"Could not {decision}: {msg}")
            self.load()
            self.desk.data_changed.emit("approvals")

        self.desk.run(f"{decision.title()} {len(ids)} case(s)", run, done, failed)


class AuditPanel(LiveTablePanel):
    name = "audit"
    title = "Audit trail"
    columns = AUDIT_COLUMNS
    id_attrs = ("audit_id", "audit_ids")
    filters = [("username", "User"), ("action", "Action"), ("entity", "Entity")]
    empty = "The audit log is empty — every approval, override and login is recorded here"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        desk.data_changed.connect(lambda _what: self.loaded and self.load())

    def fetch(self, ids: list[int] | None) -> pd.DataFrame:
        frame = audit_entries(self.desk.database)
        return frame if ids is None else frame[frame["id"].isin(ids)]
