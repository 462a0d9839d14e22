"""Compliance panels: the approval queue (approve/reject through the service) and the audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import QCheckBox, QDateEdit, QLabel, QSplitter, QToolButton, QVBoxLayout, QWidget

from engine.compliance.approvals import PENDING
from engine.views.approvals import case_rules
from engine.views.approvals import decide as decide_case
from engine.views.approvals import queue as approval_queue
from engine.views.audit import audit_entries
from ui.decision_dialog import DecisionDialog
from ui.desk import Desk
from ui.panels.trading_panels import LiveTablePanel
from widgets.blotter import RowAction
from widgets.colors import outcome_color
from widgets.columns import Column
from widgets.empty_state import EmptyStateStack
from widgets.flow_layout import FlowBar
from widgets.table_model import FrameTableModel
from widgets.table_view import DataTableView
from widgets.toolbar import ICON_PROPERTY, themed_icon

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
    Column("limit_text", "Limit", "figure", tooltip="in the rule's own unit, as its sentence says"),
    Column("before_text", "Before", "figure"),
    Column("after_text", "After", "figure"),
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


AUDIT_DAYS = 30
"""The audit trail opens on the last 30 days (From/To change it)."""
APPROVE_KEYS = ("Ctrl+Return", "Alt+A")
REJECT_KEYS = ("Ctrl+Backspace", "Alt+R")
EXCEPTIONS = ("warn", "flag", "block")
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
                RowAction(f"Approve…  ({APPROVE_KEYS[0]})", lambda keys: self.decide("approve", keys)),
                RowAction(f"Reject…  ({REJECT_KEYS[0]})", lambda keys: self.decide("reject", keys)),
            ]
        )
        self._deciding = False
        desk.data_changed.connect(self._changed)
        # a case re-read by id after its decision (here or at another desk) leaves the queue
        self.blotter.model.set_fixed_predicate("status", {PENDING})
        self.blotter.setParent(None)
        self.approve_action = self._decision_action("Approve…", "fa5s.check", "approve", APPROVE_KEYS)
        self.reject_action = self._decision_action("Reject…", "fa5s.times", "reject", REJECT_KEYS)
        self.approve_button = self._button(self.approve_action)
        self.reject_button = self._button(self.reject_action)
        self.blotter.bar.add(self.approve_button)
        self.blotter.bar.add(self.reject_button)
        self.rules = FrameTableModel(RULE_COLUMNS, key="key")
        self.rules.background_fn = self._outcome_colour
        self.rules.clear()
        self.rules_view = DataTableView(self.rules)
        self.rules_stack = EmptyStateStack(
            self.rules_view, self.rules, "Select a case to see each rule's result: limit, before, after"
        )
        self.exceptions = QCheckBox("Exceptions only")
        self.exceptions.setToolTip(
            "show only the rules that warned, flagged or blocked (untick for every result)"
        )
        self.exceptions.setChecked(True)
        self.exceptions.toggled.connect(self._exceptions_only)
        self.rule_count = QLabel("")
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        rules_bar = FlowBar()
        rules_bar.add(self.exceptions)
        rules_bar.add(self.rule_count, grow=True)
        lower = QWidget()
        lay = QVBoxLayout(lower)
        lay.setContentsMargins(4, 2, 4, 0)
        lay.addWidget(self.detail)
        lay.addWidget(rules_bar)
        lay.addWidget(self.rules_stack, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.blotter)
        split.addWidget(lower)
        split.setSizes([220, 280])
        self.setWidget(split)
        self._dark = False
        self._exceptions_only(True)
        for sig in (self.rules.modelReset, self.rules.rowsInserted, self.rules.rowsRemoved):
            sig.connect(self._count_rules)
        self._enable_decisions()
        self.case_id: int | None = None
        self.blotter.view.selectionModel().currentRowChanged.connect(
            lambda cur, _prev: (
                cur.isValid() and self.show_case(int(self.blotter.model.value(cur.row(), "id")))
            )
        )

    # ---- approve / reject with keys -------------------------------------------------------------
    def _decision_action(self, text: str, icon: str, decision: str, keys: tuple[str, ...]) -> QAction:
        """An action that answers its keys anywhere in this dock (queue or rule results)."""
        action = QAction(themed_icon(icon), text, self)
        action.setShortcuts([QKeySequence(k) for k in keys])
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.setToolTip(f"{text.rstrip('…')} the selected case(s) with a reason ({' or '.join(keys)})")
        action.setProperty(ICON_PROPERTY, icon)
        action.triggered.connect(lambda _c=False: self.decide(decision, self.selected_cases()))
        self.addAction(action)
        return action

    def _button(self, action: QAction) -> QToolButton:
        button = QToolButton()
        button.setDefaultAction(action)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        button.setProperty(ICON_PROPERTY, action.property(ICON_PROPERTY))
        return button

    def selected_cases(self) -> list[object]:
        """Case ids of the selected queue rows (the current row if none is selected)."""
        rows = self.blotter.selected_rows()
        if not rows and self.case_id is not None:
            return [self.case_id]
        return [r["id"] for r in rows]

    def _enable_decisions(self) -> None:
        on = self.blotter.model.rowCount() > 0
        self.approve_action.setEnabled(on)
        self.reject_action.setEnabled(on)

    # ---- rule results ----------------------------------------------------------------------------
    def _outcome_colour(self, model: FrameTableModel, row: int) -> QColor | None:
        return outcome_color(str(model.raw(row, "outcome") or ""), self._dark)

    def _exceptions_only(self, on: bool) -> None:
        self.rules.set_predicate("outcome", set(EXCEPTIONS) if on else None)
        total = self.rules.total_rows
        self.rules_stack.set_message(
            f"All {total:,} rule results passed — untick Exceptions only to see them"
            if total
            else "Select a case to see each rule's result: limit, before, after"
        )
        self._count_rules()

    def _count_rules(self, *_: object) -> None:
        m = self.rules
        hidden = m.total_rows - m.rowCount()
        self.rule_count.setText(
            f"{m.rowCount():,} of {m.total_rows:,} rule results"
            + (f" ({hidden:,} passes hidden)" if hidden and self.exceptions.isChecked() else "")
            if m.total_rows
            else ""
        )

    def apply_theme(self, dark: bool) -> None:
        super().apply_theme(dark)
        self._dark = dark
        self.rules_view.viewport().update()

    def fetch(self, ids: list[int] | None) -> pd.DataFrame:
        return approval_queue(self.desk.database, ids)

    def load(self) -> None:
        self._read("Loading the approval queue", lambda _t: self.fetch(None), self._loaded, full=True)

    def _loaded(self, frame: pd.DataFrame) -> None:
        """Show the queue; keep the case in the detail pane, else open the oldest case."""
        self.blotter.model.set_frame(frame)
        self._enable_decisions()
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
            self._exceptions_only(self.exceptions.isChecked())
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
        """Another dock changed cases (e.g. accepted proposals opened some): read the queue again.
        This dock's own decisions re-read just the decided cases instead."""
        if self.loaded and what == "approvals" and not self._deciding:
            self.load()

    def _announce(self) -> None:
        """Tell the other docks (proposals, audit) that cases changed, without reloading this one."""
        self._deciding = True
        try:
            self.desk.data_changed.emit("approvals")
        finally:
            self._deciding = False

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
            self.reread(ids)
            self._announce()

        def failed(msg: str) -> None:
            self.desk.message.emit(f"Could not {decision}: {msg}")
            self.reread(ids)
            self._announce()

        self.desk.run(f"{decision.title()} {len(ids)} case(s)", run, done, failed)


class AuditPanel(LiveTablePanel):
    name = "audit"
    title = "Audit trail"
    columns = AUDIT_COLUMNS
    id_attrs = ("audit_id", "audit_ids")
    filters = [("username", "User"), ("action", "Action"), ("entity", "Entity")]
    empty = (
        "No audit entries in these dates — every approval, override and login is recorded here "
        "(order status changes and day-close steps too, with Routine events ticked)"
    )

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self._newer = False  # entries may have been added since the last read
        self._last_id = 0  # the newest entry read
        desk.data_changed.connect(self._newer_due)
        self.blotter.view.sortByColumn(0, Qt.SortOrder.DescendingOrder)  # newest first, new rows too
        today = desk.clock.now().astimezone(desk.clock.user_tz).date()
        self.date_from = self._date_edit(
            today - timedelta(days=AUDIT_DAYS - 1), "first day shown (your zone)"
        )
        self.date_to = self._date_edit(today, "last day shown (your zone)")
        self.order_events = QCheckBox("Routine events")
        self.order_events.setToolTip(
            "every order status change and day-close step (hidden by default: most of the trail)"
        )
        self.blotter.bar.add_field("From:", self.date_from)
        self.blotter.bar.add_field("to:", self.date_to)
        self.blotter.bar.add(self.order_events)
        for sig in (self.date_from.dateChanged, self.date_to.dateChanged, self.order_events.toggled):
            sig.connect(lambda *_: self.loaded and self.load())
        bar = self.blotter.bar.flow  # the date range and toggle before the count and the text filter
        for w in (self.blotter.count, self.blotter.filter):
            bar.removeWidget(w)
            bar.addWidget(w)

    @staticmethod
    def _date_edit(day: date, tip: str) -> QDateEdit:
        edit = QDateEdit(QDate(day.year, day.month, day.day))
        edit.setCalendarPopup(True)
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.setToolTip(tip)
        return edit

    def window_utc(self) -> tuple[datetime, datetime]:
        """[start of From, end of To) in the user's zone, as UTC datetimes for the query."""
        tz = self.desk.clock.user_tz
        lo, hi = self.date_from.date().toPython(), self.date_to.date().toPython()
        if hi < lo:
            lo, hi = hi, lo
        start = datetime.combine(lo, time.min, tzinfo=tz).astimezone(UTC)
        end = datetime.combine(hi + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
        return start, end

    def load(self) -> None:
        self._query = (*self.window_utc(), self.order_events.isChecked())  # read here, not in the worker
        super().load()

    def fetch(self, ids: list[int] | None, after_id: int | None = None) -> pd.DataFrame:
        since, until, orders = getattr(self, "_query", (None, None, False))
        return audit_entries(
            self.desk.database, since=since, until=until, order_events=orders, ids=ids, after_id=after_id
        )

    def _newer_due(self, _what: str) -> None:
        """Something was done (an approval, a login, a day step): read the entries after the newest
        shown, on the 100 ms timer, and add them; the trail is append-only, so it is never reread."""
        if self.loaded:
            self._newer = True
            if not self._timer.isActive():
                self._timer.start()

    def _has_dirty(self) -> bool:
        return self._newer or super()._has_dirty()

    def _reload_dirty(self) -> None:
        if not self._newer:
            super()._reload_dirty()
            return
        self._newer, after = False, self._last_id
        self._read("Updating audit trail", lambda _t: self.fetch(None, after), self._added)

    def _loaded(self, frame: pd.DataFrame) -> None:
        super()._loaded(frame)
        self._last_id = int(frame["id"].max()) if len(frame) else 0

    def _added(self, frame: pd.DataFrame) -> None:
        if len(frame):
            self._last_id = max(self._last_id, int(frame["id"].max()))
            self.blotter.model.upsert(frame)
