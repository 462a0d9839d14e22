"""Rebalance proposals panel: run a bulk rebalance, review each proposal's trades, send to compliance,
release to trading (the proposal's trades become orders in the blotter)."""

from __future__ import annotations

import pandas as pd
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.rebalance.run_options import RunOptions
from engine.views import proposal_review, trading
from engine.views.proposal_review import ReleaseOutcome
from engine.views.rebalance import MODES, proposal_trades
from ui.desk import Desk
from ui.oms_link import link_of
from ui.panels.proposal_detail import detail_html
from ui.panels.proposal_edit import TradeEditMixin
from ui.panels.proposal_run import ProposalRunMixin, RunState
from ui.panels.trading_panels import LiveTablePanel
from widgets.blotter import RowAction
from widgets.columns import Column
from widgets.flow_layout import FlowBar
from widgets.table_model import FrameTableModel
from widgets.table_view import DataTableView
from widgets.toolbar import themed_icon

__all__ = ["PROPOSAL_COLUMNS", "TRADE_COLUMNS", "ProposalsPanel", "RunState", "detail_html"]

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
PROPOSAL_COLUMNS = [
    Column("id", "Proposal", "int"),
    Column("batch", "Batch", tooltip="the run's batch id, first 8 characters (as the status bar names it)"),
    Column("account", "Account"),
    Column("mode", "Mode"),
    Column("status", "Status"),
    Column("trades", "Trades", "int"),
    Column("reason", "Reason"),
    Column("created_by", "By"),
    Column("compliance", "Compliance", tooltip="approval case state (check outcome)"),
    Column("updated_at", "Updated", "datetime"),
]


class ProposalsPanel(TradeEditMixin, ProposalRunMixin, LiveTablePanel):
    """Proposals from bulk rebalances; run one here (background, progress, cancel) and review trades."""

    run_finished = Signal(object)
    """A run from this panel ended (done, cancelled or failed): its RunState."""

    name = "proposals"
    title = "Rebalance proposals"
    columns = PROPOSAL_COLUMNS
    id_attrs = ("proposal_id", "proposal_ids")
    filters = [("status", "Status"), ("mode", "Mode"), ("batch", "Batch")]
    empty = "No proposals yet — run a rebalance (the Run button above, or `workstation rebalance run`)"

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.last_release: list[ReleaseOutcome] = []
        self.run_state = RunState()
        self._batch_due = False
        self.blotter.setParent(None)
        self.selection = QComboBox()
        self.selection.addItems(["drifted", "all", "model", "household", "list"])
        self.selection.setToolTip("drifted: accounts outside their drift band")
        self.value = QLineEdit()
        self.value.setPlaceholderText("model / household code, or account codes")
        self.value.setMaximumWidth(220)
        self.mode = QComboBox()
        self.mode.addItems(MODES)
        self.options = RunOptions()
        self.options_button = QPushButton(themed_icon("fa5s.sliders-h"), "&Options…")
        self.options_button.setToolTip(
            "Run options: style (min-max, tactical), max turnover, minimum improvement, gains "
            "deferral, households, what-if (Alt+O)"
        )
        self.options_button.clicked.connect(lambda _c=False: self.edit_options())
        self.run_button = QPushButton(themed_icon("fa5s.play"), "Run rebalance")
        self.run_button.clicked.connect(lambda _c=False: self.run_rebalance())
        bar = FlowBar()
        bar.add_field("Accounts:", self.selection)
        bar.add(self.value)
        bar.add_field("Mode:", self.mode)
        bar.add(self.options_button)
        bar.add(self.run_button)
        self.accept_button = QPushButton(themed_icon("fa5s.check"), "Accept")
        self.accept_button.setToolTip(
            "Accept the selected proposals and send them to compliance (Ctrl+Enter)"
        )
        self.reject_button = QPushButton(themed_icon("fa5s.times"), "Reject…")
        self.reject_button.setToolTip("Reject the selected proposals with a reason")
        self.send_button = QPushButton(themed_icon("fa5s.user-shield"), "Send to compliance")
        self.send_button.setToolTip("Check accepted proposals again (e.g. after compliance rejected them)")
        self.release_button = QPushButton(themed_icon("fa5s.paper-plane"), "Release to trading")
        self.release_button.setToolTip(
            "Turn accepted proposals that passed compliance (or were approved) into orders in the "
            "blotter (Ctrl+Shift+Enter). A proposal compliance had to approve is released by a trader."
        )
        self.accept_button.clicked.connect(lambda _c=False: self.accept(self.selected()))
        self.reject_button.clicked.connect(lambda _c=False: self.reject(self.selected()))
        self.send_button.clicked.connect(lambda _c=False: self.send_to_compliance(self.selected()))
        self.release_button.clicked.connect(lambda _c=False: self.release(self.selected()))
        for b in (self.accept_button, self.reject_button, self.send_button, self.release_button):
            bar.add(b)
        self.trades = FrameTableModel(TRADE_COLUMNS, key="key")
        self.trades.clear()
        self.trades_view = DataTableView(self.trades)
        self.trades_view.setToolTip("F2 or Enter edits the selected trade's quantity, Del removes it")
        self.setup_trade_edit()
        self.detail = QLabel("Select a proposal to see its trades, tax and drift before and after.")
        self.detail.setWordWrap(True)
        lower = QWidget()
        lay = QVBoxLayout(lower)
        lay.setContentsMargins(4, 2, 4, 0)
        lay.addWidget(self.detail)
        lay.addWidget(self.trades_view, 1)
        self.set_split_body(bar, self.blotter, lower, [300, 200])
        self.blotter.set_actions(
            [
                RowAction("Accept and send to compliance", self.accept, shortcut="Ctrl+Return"),
                RowAction("Reject…", self.reject),
                RowAction("Send to compliance", self.send_to_compliance),
                RowAction("Release to trading (orders)", self.release, shortcut="Ctrl+Shift+Return"),
            ]
        )
        self.blotter.view.clicked.connect(
            lambda idx: self.show_proposal(int(self.blotter.model.value(idx.row(), "id")))
        )

    def fetch(self, ids: list[int] | None) -> pd.DataFrame:
        return self._shaped(trading.proposals(self.desk.database, ids))

    @staticmethod
    def _shaped(frame: pd.DataFrame) -> pd.DataFrame:
        frame["batch"] = [str(b)[:8] for b in frame["batch_id"]]
        return frame

    def selected(self) -> list[object]:
        """Keys of the selected proposal rows (the current row if nothing is selected)."""
        view = self.blotter.view
        rows = sorted({i.row() for i in view.selectionModel().selectedRows()}) or (
            [view.currentIndex().row()] if view.currentIndex().isValid() else []
        )
        return [self.blotter.model.value(r, "id") for r in rows]

    def _decided(self, what: str, ids: list[int], fn: object) -> None:
        def done(states: list[str]) -> None:
            counts = {s: states.count(s) for s in sorted(set(states))}
            self.desk.message.emit(
                f"{what}: {len(ids)} proposal(s) — " + ", ".join(f"{n} {s}" for s, n in counts.items())
            )
            self.reread(ids)
            self.desk.data_changed.emit("approvals")

        def failed(msg: str) -> None:
            self.desk.message.emit(f"Could not {what.lower()} (nothing changed): {msg}")
            self.reread(ids)

        self.desk.run(f"{what} {len(ids)} proposal(s)", fn, done, failed)  # type: ignore[arg-type]

    def accept(self, keys: list[object]) -> None:
        """Accept the proposals and submit them to the compliance check, all or none."""
        ids = [int(k) for k in keys]  # type: ignore[call-overload]
        if ids:
            user = self.desk.user.username
            self._decided("Accept", ids, lambda _t: proposal_review.accept(self.desk.database, user, ids))

    def reject(self, keys: list[object], reason: str | None = None) -> None:
        """Reject the proposals with a reason (asked for when not given)."""
        ids = [int(k) for k in keys]  # type: ignore[call-overload]
        if not ids:
            return
        if reason is None:
            reason, ok = QInputDialog.getText(
                self, "Reject proposals", f"Reason for rejecting {len(ids)} proposal(s):"
            )
            if not ok:
                return
        user, why = self.desk.user.username, reason
        self._decided("Reject", ids, lambda _t: proposal_review.reject(self.desk.database, user, ids, why))

    def release(self, keys: list[object]) -> None:
        """Release the proposals to trading: their trades become OMS orders (in a worker, through
        the desk's OMS link so the order blotter shows them); each proposal on its own."""
        ids = [int(k) for k in keys]  # type: ignore[call-overload]
        if not ids:
            return
        user = self.desk.user.username
        self.release_button.setEnabled(False)

        def work(_t: object) -> list[ReleaseOutcome]:
            link = link_of(self.desk)
            broker = link.configured[0] if link.configured else None
            return link.call(lambda: proposal_review.release_to_orders(link.manager, user, ids, broker))

        def done(outcomes: list[ReleaseOutcome]) -> None:
            self.release_button.setEnabled(True)
            self.last_release = outcomes
            self.desk.message.emit(proposal_review.release_summary(outcomes))
            self.reread(ids)
            self.desk.data_changed.emit("approvals")

        def failed(msg: str) -> None:
            self.release_button.setEnabled(True)
            self.desk.message.emit(f"Release to trading: {msg}")
            self.reread(ids)
            self.desk.data_changed.emit("approvals")

        self.desk.run(f"Release {len(ids)} proposal(s) to trading", work, done, failed)

    def send_to_compliance(self, keys: list[object]) -> None:
        """Submit the selected accepted proposals to the compliance check, all or none."""
        ids = [int(k) for k in keys]  # type: ignore[call-overload]
        if not ids:
            return
        user = self.desk.user.username

        def done(states: list[str]) -> None:
            counts = {s: states.count(s) for s in sorted(set(states))}
            self.desk.message.emit("Sent to compliance: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
            self.reread(ids)
            self.desk.data_changed.emit("approvals")

        def failed(msg: str) -> None:
            self.desk.message.emit(f"Could not send to compliance (nothing changed): {msg}")
            self.reread(ids)

        self.desk.run(
            "Compliance check",
            lambda _t: proposal_review.send_to_compliance(self.desk.database, user, ids),
            done,
            failed,
        )

    def show_proposal(self, proposal_id: int) -> None:
        def fetch(_t: object) -> tuple[dict[str, object], pd.DataFrame]:
            return proposal_trades(self.desk.database, proposal_id)

        def show(result: tuple[dict[str, object], pd.DataFrame]) -> None:
            payload, trades = result
            self.current_proposal = proposal_id
            self.trades.set_frame(trades)
            self.trades_view.fit_columns()
            self.detail.setText(detail_html(payload, len(trades)))

        self.desk.run("Loading proposal", fetch, show)
