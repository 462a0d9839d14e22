"""Trader and compliance panels over the real trading tables: orders, executions, proposals, audit.

Live path: engine events carrying `order_id(s)` / `execution_id(s)` make the panel re-read just
those rows in a worker and `upsert` them; the model's 100 ms timer coalesces the redraw.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.events import Event
from ui.data import trading
from ui.data.approvals import decide as decide_case
from ui.data.approvals import queue as approval_queue
from ui.data.approvals import submit_proposals
from ui.data.audit import audit_entries
from ui.data.rebalance import MODES, Selection, proposal_trades
from ui.data.rebalance import run as run_rebalance
from ui.decision_dialog import DecisionDialog
from ui.desk import Desk
from ui.panels.base import Panel
from widgets.blotter import Blotter, RowAction
from widgets.columns import Column
from widgets.table_model import FrameTableModel
from widgets.table_view import DataTableView
from widgets.toolbar import themed_icon

EXEC_TYPES = {
    "0": "New",
    "3": "Done for day",
    "4": "Canceled",
    "5": "Replaced",
    "6": "Pending cancel",
    "8": "Rejected",
    "A": "Pending new",
    "C": "Expired",
    "D": "Restated",
    "E": "Pending replace",
    "F": "Trade",
    "G": "Trade correct",
    "H": "Trade cancel",
    "I": "Order status",
}
ORDER_COLUMNS = [
    Column("cl_ord_id", "ClOrdID"),
    Column("kind", "Kind"),
    Column("parent", "Block"),
    Column("account", "Account"),
    Column("symbol", "Symbol"),
    Column("side", "Side"),
    Column("quantity", "Quantity", "qty"),
    Column("order_type", "Type"),
    Column("limit_price", "Limit", "price"),
    Column("time_in_force", "TIF"),
    Column("broker", "Broker"),
    Column("mic", "Market"),
    Column("status", "Status"),
    Column("cum_qty", "Filled", "qty"),
    Column("leaves_qty", "Leaves", "qty"),
    Column("avg_px", "Avg price", "price"),
    Column("currency", "Ccy"),
    Column("updated_at", "Updated", "datetime"),
]
EXEC_COLUMNS = [
    Column("received_at", "Received", "datetime"),
    Column("cl_ord_id", "ClOrdID"),
    Column("account", "Account"),
    Column("symbol", "Symbol"),
    Column("side", "Side"),
    Column("broker", "Broker"),
    Column("exec_id", "ExecID"),
    Column("exec_type_name", "ExecType"),
    Column("status", "OrdStatus"),
    Column("last_qty", "Last qty", "qty"),
    Column("last_px", "Last px", "price"),
    Column("cum_qty", "Cum qty", "qty"),
    Column("leaves_qty", "Leaves", "qty"),
    Column("avg_px", "Avg px", "price"),
    Column("currency", "Ccy"),
    Column("mic", "Market"),
]
ORD_STATUS = {
    "0": "new",
    "1": "partially_filled",
    "2": "filled",
    "3": "done_for_day",
    "4": "canceled",
    "6": "pending_cancel",
    "8": "rejected",
    "A": "pending_new",
    "C": "expired",
    "E": "pending_replace",
}
TRADE_COLUMNS = [
    Column("symbol", "Symbol"),
    Column("side", "Side"),
    Column("quantity", "Quantity", "qty"),
    Column("est_price", "Est. price", "price"),
    Column("currency", "Ccy"),
    Column("est_value_base", "Est. value (base)", "money", "base_currency"),
    Column("gain", "Realized gain", "money", "base_currency", signed=True),
    Column("est_tax", "Est. tax", "money", "base_currency"),
    Column("reason", "Reason"),
]
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
PROPOSAL_COLUMNS = [
    Column("id", "Proposal", "int"),
    Column("batch_id", "Batch"),
    Column("account", "Account"),
    Column("mode", "Mode"),
    Column("status", "Status"),
    Column("trades", "Trades", "int"),
    Column("reason", "Reason"),
    Column("created_by", "By"),
    Column("compliance", "Compliance", tooltip="approval case state (check outcome)"),
    Column("updated_at", "Updated", "datetime"),
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
OMS_PENDING = "the desk is not connected to the OMS service yet"


def exec_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Executions with the FIX 4.4 names of ExecType and OrdStatus."""
    out = frame.copy()
    out["exec_type_name"] = [f"{t} {EXEC_TYPES.get(str(t), '?')}" for t in out["exec_type"]]
    out["status"] = [ORD_STATUS.get(str(s), str(s)) for s in out["ord_status"]]
    return out


def _ids(events: Iterable[Event], single: str, plural: str) -> set[int]:
    ids: set[int] = set()
    for e in events:
        v = getattr(e, single, None)
        if isinstance(v, int):
            ids.add(v)
        many = getattr(e, plural, None)
        if isinstance(many, list | tuple | set | frozenset):
            ids.update(int(x) for x in many if isinstance(x, int))
    return ids


class LiveTablePanel(Panel):
    """A blotter fed by a full load, then by keyed re-reads of the rows named in engine events."""

    id_attrs = ("order_id", "order_ids")
    empty = ""
    filters: list[tuple[str, str]] = []
    columns: list[Column] = []

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.blotter = Blotter(self.columns, "id", self.empty, self.filters)
        self.setWidget(self.blotter)
        self._dirty: set[int] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._reload_dirty)
        desk.bridge.batch.connect(self._on_events)

    def fetch(self, ids: list[int] | None) -> pd.DataFrame:
        raise NotImplementedError

    def load(self) -> None:
        self.desk.run(
            f"Loading {self.title.lower()}", lambda _t: self.fetch(None), self.blotter.model.set_frame
        )

    def _on_events(self, events: list[Event]) -> None:
        ids = _ids(events, *self.id_attrs)
        if ids and self.loaded:
            self._dirty |= ids
            if not self._timer.isActive():
                self._timer.start()

    def _reload_dirty(self) -> None:
        ids, self._dirty = sorted(self._dirty), set()
        self.desk.run(f"Updating {self.title.lower()}", lambda _t: self.fetch(ids), self.blotter.model.upsert)

    def apply_theme(self, dark: bool) -> None:
        self.blotter.dark = dark
        self.blotter.view.viewport().update()


class OrdersPanel(LiveTablePanel):
    name = "orders"
    title = "Order blotter"
    columns = ORDER_COLUMNS
    filters = [
        ("status", "Status"),
        ("broker", "Broker"),
        ("mic", "Market"),
        ("account", "Account"),
        ("kind", "Kind"),
    ]
    empty = "No orders yet — orders appear here when approved proposals are released to trading"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.blotter.set_actions(
            [
                RowAction("Cancel", lambda keys: None, why_not=OMS_PENDING),
                RowAction("Cancel/replace…", lambda keys: None, why_not=OMS_PENDING),
                RowAction("Release held order", lambda keys: None, why_not=OMS_PENDING),
                RowAction("Show block and children", self.show_block, lambda rows: len(rows) == 1),
            ]
        )
        self.blotter.view.doubleClicked.connect(
            lambda idx: self.show_block([self.blotter.model.value(idx.row(), "id")])
        )

    def show_block(self, keys: list[object]) -> None:
        """Filter to a block and its children (by the block's ClOrdID)."""
        if not keys:
            return
        row = self.blotter.model.view_row_of_key(keys[0])
        if row < 0:
            return
        block = self.blotter.model.value(row, "parent") or self.blotter.model.value(row, "cl_ord_id")
        self.blotter.model.set_text_filter(str(block))

    def fetch(self, ids: list[int] | None) -> pd.DataFrame:
        return trading.orders(self.desk.database, ids)


class ExecutionsPanel(LiveTablePanel):
    name = "executions"
    title = "Execution blotter"
    columns = EXEC_COLUMNS
    id_attrs = ("execution_id", "execution_ids")
    filters = [("status", "Status"), ("broker", "Broker"), ("mic", "Market"), ("account", "Account")]
    empty = "No executions yet — fills from brokers appear here as they arrive"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        self._orders: set[int] = set()
        super().__init__(desk, parent)

    def fetch(self, ids: list[int] | None) -> pd.DataFrame:
        return exec_frame(trading.executions(self.desk.database, ids))

    def _on_events(self, events: list[Event]) -> None:
        # The OMS publishes OrderChanged(order_id) after each fill: re-read that order's executions.
        orders = _ids(events, "order_id", "order_ids")
        if orders and self.loaded:
            self._orders |= orders
            if not self._timer.isActive():
                self._timer.start()
        super()._on_events(events)

    def _reload_dirty(self) -> None:
        orders, self._orders = sorted(self._orders), set()
        ids, self._dirty = sorted(self._dirty), set()

        def fetch(_t: object) -> pd.DataFrame:
            frames = [trading.executions(self.desk.database, ids)] if ids else []
            if orders:
                frames.append(trading.executions(self.desk.database, order_ids=orders))
            return (
                exec_frame(pd.concat(frames, ignore_index=True))
                if frames
                else exec_frame(trading.executions(self.desk.database, []))
            )

        self.desk.run("Updating executions", fetch, self.blotter.model.upsert)


class ProposalsPanel(LiveTablePanel):
    """Proposals from bulk rebalances; run one here (background, progress, cancel) and review trades."""

    name = "proposals"
    title = "Rebalance proposals"
    columns = PROPOSAL_COLUMNS
    id_attrs = ("proposal_id", "proposal_ids")
    filters = [("status", "Status"), ("mode", "Mode"), ("batch_id", "Batch")]
    empty = "No proposals yet — run a rebalance (the Run button above, or `workstation rebalance run`)"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.blotter.setParent(None)
        self.selection = QComboBox()
        self.selection.addItems(["drifted", "all", "model", "household", "list"])
        self.selection.setToolTip("drifted: accounts outside their drift band")
        self.value = QLineEdit()
        self.value.setPlaceholderText("model / household code, or account codes")
        self.value.setMaximumWidth(220)
        self.mode = QComboBox()
        self.mode.addItems(MODES)
        self.run_button = QPushButton(themed_icon("fa5s.play"), "Run rebalance")
        self.run_button.clicked.connect(lambda _c=False: self.run_rebalance())
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        for label, w in (("Accounts:", self.selection), ("", self.value), ("Mode:", self.mode)):
            if label:
                bar.addWidget(QLabel(label))
            bar.addWidget(w)
        bar.addWidget(self.run_button)
        bar.addStretch(1)
        self.trades = FrameTableModel(TRADE_COLUMNS, key="key")
        self.trades.clear()
        self.trades_view = DataTableView(self.trades)
        self.detail = QLabel("Select a proposal to see its trades, tax and drift before and after.")
        self.detail.setWordWrap(True)
        lower = QWidget()
        lay = QVBoxLayout(lower)
        lay.setContentsMargins(4, 2, 4, 0)
        lay.addWidget(self.detail)
        lay.addWidget(self.trades_view, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.blotter)
        split.addWidget(lower)
        split.setSizes([300, 200])
        body = QWidget()
        outer = QVBoxLayout(body)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addLayout(bar)
        outer.addWidget(split, 1)
        self.setWidget(body)
        self.blotter.set_actions([RowAction("Send to compliance", self.send_to_compliance)])
        self.blotter.view.clicked.connect(
            lambda idx: self.show_proposal(int(self.blotter.model.value(idx.row(), "id")))
        )

    def fetch(self, ids: list[int] | None) -> pd.DataFrame:
        frame = trading.proposals(self.desk.database)
        return frame if ids is None else frame[frame["id"].isin(ids)]

    def send_to_compliance(self, keys: list[object]) -> None:
        """Submit the selected proposals to the compliance check (issue 5's service)."""
        ids = [int(k) for k in keys]  # type: ignore[call-overload]
        user = self.desk.user.username

        def done(states: list[str]) -> None:
            counts = {s: states.count(s) for s in sorted(set(states))}
            self.desk.message.emit("Sent to compliance: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
            self.load()
            self.desk.data_changed.emit("approvals")

        def failed(msg: str) -> None:
            self.desk.message.emit(f"Could not send to compliance: {msg}")
            self.load()

        self.desk.run(
            "Compliance check", lambda _t: submit_proposals(self.desk.database, user, ids), done, failed
        )

    def run_rebalance(self) -> None:
        sel = Selection(self.selection.currentText(), self.value.text().strip())
        mode = self.mode.currentText()
        user = self.desk.user.username
        self.run_button.setEnabled(False)

        def done(summary: dict[str, object]) -> None:
            self.run_button.setEnabled(True)
            self.desk.message.emit(
                f"Rebalance {str(summary.get('batch_id', ''))[:8]}: {summary.get('accounts', 0)} account(s)"
                + (" (cancelled)" if summary.get("cancelled") else "")
            )
            self.load()

        def failed(msg: str) -> None:
            self.run_button.setEnabled(True)
            self.desk.message.emit(f"Rebalance failed: {msg}")

        self.desk.run(
            "Rebalance", lambda t: run_rebalance(self.desk.database, sel, mode, user, t), done, failed
        )

    def show_proposal(self, proposal_id: int) -> None:
        def fetch(_t: object) -> tuple[dict[str, object], pd.DataFrame]:
            return proposal_trades(self.desk.database, proposal_id)

        def show(result: tuple[dict[str, object], pd.DataFrame]) -> None:
            payload, trades = result
            self.trades.set_frame(trades)
            self.trades_view.fit_columns()
            before = payload.get("before") or {}
            after = payload.get("after") or {}
            ccy = payload.get("base_currency", "")

            def fig(side: dict[str, object], key: str) -> str:
                v = side.get(key) if isinstance(side, dict) else None
                return f"{float(v) * 100:.2f}%" if isinstance(v, int | float) else "n/a"

            self.detail.setText(
                f"<b>{payload.get('account', '')}</b> · {payload.get('status', '')} · {payload.get('reason') or ''} · "
                f"{len(trades)} trade(s), turnover {float(payload.get('turnover', 0) or 0) * 100:.2f}%, "
                f"est. tax {float(payload.get('est_tax', 0) or 0):,.2f} {ccy}, est. cost {float(payload.get('est_cost', 0) or 0):,.2f} {ccy}; "
                f"max drift {fig(before, 'max_drift')} → {fig(after, 'max_drift')}, "
                f"tracking error {fig(before, 'tracking_error')} → {fig(after, 'tracking_error')}"
            )

        self.desk.run("Loading proposal", fetch, show)


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

    def fetch(self, ids: list[int] | None) -> pd.DataFrame:
        return approval_queue(self.desk.database)

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
