"""Running a bulk rebalance from the proposals dock: the options, the child process, its progress,
and the proposals joining the table as the run writes them (a mixin of ProposalsPanel)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from engine.errors import WorkstationError
from engine.rebalance.run_options import RunOptions, build_settings
from engine.rebalance.settings import Mode
from engine.views import trading
from engine.views.rebalance import Selection
from engine.views.rebalance_process import run_in_child
from ui.panels.proposal_detail import what_if_html
from ui.panels.run_options import RunOptionsDialog
from ui.panels.run_options import summary as run_options_summary
from ui.workers import CancelToken, Job


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


class ProposalRunMixin:
    """The proposals dock's run: needs the panel's desk, mode box, options button, run button,
    detail label, blotter and the LiveTablePanel's keyed re-reads."""

    desk: Any
    options: RunOptions
    run_state: RunState
    _batch_due: bool
    _dirty: set[int]
    _timer: Any

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
