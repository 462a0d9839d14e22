"""Rebalance proposals panel: run a bulk rebalance, review each proposal's trades, send to compliance,
release to trading (the proposal's trades become orders in the blotter)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from engine.errors import WorkstationError
from engine.rebalance.run_options import RunOptions, build_settings
from engine.rebalance.settings import Mode
from engine.views import proposal_review, trading
from engine.views.proposal_review import ReleaseOutcome
from engine.views.rebalance import MODES, Selection, proposal_trades
from engine.views.rebalance_process import run_in_child
from ui.desk import Desk
from ui.oms_link import link_of
from ui.panels.proposal_detail import detail_html, what_if_html
from ui.panels.run_options import RunOptionsDialog
from ui.panels.run_options import summary as run_options_summary
from ui.panels.trading_panels import LiveTablePanel
from ui.workers import CancelToken, Job
from widgets.blotter import RowAction
from widgets.columns import Column
from widgets.flow_layout import FlowBar
from widgets.table_model import FrameTableModel
from widgets.table_view import DataTableView
from widgets.toolbar import themed_icon

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


@dataclass
class RunState:
    """One rebalance started from the panel: its job, batch, the last proposal id read, the end."""

    job: Job | None = None
    batch: str | None = None
    after: int | None = None
    summary: dict[str, object] | None = None
    finishing: bool = False
    done: bool = False
    failed: str | None = None
    rows: int = 0


class ProposalsPanel(LiveTablePanel):
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
        outer.addWidget(bar)
        outer.addWidget(split, 1)
        self.setWidget(body)
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

    def edit_options(self) -> None:
        """The run options dialog (modal); its accepted options are used by the next run."""
        dialog = RunOptionsDialog(self.options, self)
        if dialog.exec():
            self.set_options(dialog.options)

    def set_options(self, options: RunOptions) -> None:
        """Use `options` (style, turnover...; the mode comes from the Mode box) for the next runs."""
        self.options = options
        said = run_options_summary(options)
        n = said.count(", ") + 1 if said else 0
        self.options_button.setText(f"&Options ({n})…" if n else "&Options…")
        self.options_button.setToolTip(f"Run options: {said or 'standard'} (Alt+O to change)")

    def run_options(self) -> RunOptions:
        """The options the next run takes: the dialog's, with the Mode box's mode."""
        return replace(self.options, mode=Mode(self.mode.currentText()))

    def run_rebalance(self) -> None:
        """Run a bulk rebalance in a child process (engine.views.rebalance_process): progress in the
        status bar from the first second, its cancel ends this run, proposals join the table as
        batches are written (read by batch and id, never a whole reload), and "done" is said only
        once the table holds every proposal the run wrote."""
        sel = Selection(self.selection.currentText(), self.value.text().strip())
        options = self.run_options()
        try:
            if options.cash_raise and options.mode != Mode.CASH_RAISE:  # the CLI ignores it; a desk must not
                raise WorkstationError("cash raise: an amount in the options needs mode cash-raise")
            build_settings(options)  # the child builds them again; a bad combination stops here
        except WorkstationError as exc:
            self.desk.message.emit(f"Rebalance not started: {exc}")
            return
        user = self.desk.user.username
        database = self.desk.database
        self.run_button.setEnabled(False)
        self.run_state = RunState()
        state = self.run_state

        def work(token: CancelToken) -> dict[str, object]:
            token.report(0, "Starting the rebalance…")

            def report(pct: int, text: str, batch: str | None) -> None:
                if batch and state.batch is None and not options.what_if:
                    state.batch = batch  # read in the GUI thread on the progress signal below
                token.report(pct, text)

            return run_in_child(database, sel, options, user, report, lambda: token.cancelled)

        def failed(msg: str) -> None:
            self.run_button.setEnabled(True)
            state.failed = msg
            self.desk.message.emit(f"Rebalance failed: {msg}")
            self.run_finished.emit(state)

        job = self.desk.jobs.start("Rebalance", work, self._run_done, failed)
        state.job = job
        job.signals.progress.connect(lambda _p, _t: self._follow_batch())
        job.signals.cancelled.connect(
            lambda: (self.run_button.setEnabled(True), self.run_finished.emit(state))
        )

    def _follow_batch(self) -> None:
        """The running batch wrote more proposals (or may have): read its rows above the last seen."""
        if self.run_state.batch is not None and self.loaded:
            self._batch_due = True
            if not self._timer.isActive():
                self._timer.start()

    def _run_done(self, summary: dict[str, object]) -> None:
        state = self.run_state
        state.summary = summary
        if summary.get("what_if"):  # nothing stored: the summary is what there is to show
            self.detail.setText(what_if_html(summary))
            self.run_button.setEnabled(True)
            self.desk.message.emit(
                f"Rebalance what-if: {int(summary.get('accounts', 0) or 0):,} account(s), nothing saved"
            )  # type: ignore[call-overload]
            state.done = True
            self.run_finished.emit(state)
            return
        state.batch = str(summary.get("batch_id") or "") or state.batch
        if state.batch is None:  # nothing was written (cancelled before the first batch)
            self._finish_run()
            return
        state.finishing = True
        self._follow_batch()
        if not self.loaded:
            self._finish_run()

    def _has_dirty(self) -> bool:
        return bool(self._dirty) or self._batch_due

    def _reload_dirty(self) -> None:
        ids, self._dirty = sorted(self._dirty), set()
        state = self.run_state
        batch = state.batch if self._batch_due else None
        after, self._batch_due = state.after, False
        database = self.desk.database

        def fetch(_t: object) -> pd.DataFrame:
            frames = [self.fetch(ids)] if ids else []
            if batch is not None:
                frames.append(self._shaped(trading.proposals(database, batch_id=batch, after_id=after)))
            return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

        def done(frame: pd.DataFrame) -> None:
            if batch is not None and batch == state.batch:
                mine = frame.loc[frame["batch_id"] == batch, "id"]
                if len(mine):
                    state.after = max(state.after or 0, int(mine.max()))
            self.blotter.model.upsert(frame)
            if state.finishing and not self._batch_due and batch is not None:
                self._finish_run()

        if ids or batch is not None:
            self._read(f"Updating {self.title.lower()}", fetch, done)

    def _finish_run(self) -> None:
        """The run is over and its rows are in the table: say so with the count the table holds."""
        state = self.run_state
        state.finishing = False
        model = self.blotter.model
        model.flush()
        summary = state.summary or {}
        written = int(summary.get("accounts", 0) or 0)  # type: ignore[call-overload]
        if state.batch is not None:
            held = model.count_where("batch_id", state.batch)
        else:
            held = 0
        state.rows = held
        cancelled = bool(summary.get("cancelled"))
        what = f"{held:,} proposal(s) in the table"
        if not cancelled and written != held:
            what += f" (the run wrote {written:,})"
        self.run_button.setEnabled(True)
        self.desk.message.emit(
            f"Rebalance {str(state.batch or '')[:8]}: " + what + (" — cancelled" if cancelled else " — done")
        )
        state.done = True
        self.run_finished.emit(state)

    def show_proposal(self, proposal_id: int) -> None:
        def fetch(_t: object) -> tuple[dict[str, object], pd.DataFrame]:
            return proposal_trades(self.desk.database, proposal_id)

        def show(result: tuple[dict[str, object], pd.DataFrame]) -> None:
            payload, trades = result
            self.trades.set_frame(trades)
            self.trades_view.fit_columns()
            self.detail.setText(detail_html(payload, len(trades)))

        self.desk.run("Loading proposal", fetch, show)
