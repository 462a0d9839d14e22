"""Operations: the day cycle. The last closed date and the runs; for the chosen date each step
(status, counts), its exceptions (unknown securities, refused files by row/field/reason, stale
prices, corporate actions not booked) and the inbox files with what each brought.

"Close day…" runs engine.daycycle's close for the signed-in user in a worker (never on the GUI
thread), shows each step as it runs, then reloads. The engine checks `day.close`: a user without
it sees the refusal, nothing runs. The inbox comes from the composition root (`desk.day_cycle`,
an engine.views.daycycle.DayCycleLink); without one the action says so.
"""

from __future__ import annotations

import contextlib
import html
import re
from datetime import date
from typing import Any

import pandas as pd
from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.daycycle.steps import STEPS
from engine.views import daycycle as view
from ui.desk import Desk
from ui.panels.base import Panel
from ui.workers import Cancelled, CancelToken
from widgets.blotter import Blotter
from widgets.columns import Column
from widgets.elided_label import ElidedLabel
from widgets.flow_layout import FlowBar

STEP_COLUMNS = [
    Column("position", "#", "int"),
    Column("step", "Step", "words"),
    Column("status", "Status", "words"),
    Column("exceptions", "Exceptions", "int"),
    Column("finished", "Finished", tooltip="UTC"),
    Column("counts", "Counts"),
]
EXCEPTION_COLUMNS = [
    Column("step", "Step"),
    Column("kind", "Kind"),
    Column("subject", "File / item"),
    Column("row", "Row"),
    Column("field", "Field"),
    Column("reason", "Reason"),
]
FILE_COLUMNS = [
    Column("name", "File"),
    Column("folder", "Folder"),
    Column("kind", "Kind"),
    Column("status", "Status"),
    Column("brought", "Brought"),
    Column("errors", "Errors"),
]
RUN_COLUMNS = [
    Column("day", "Date"),
    Column("status", "Status"),
    Column("run_by", "Run by"),
    Column("started", "Started"),
    Column("finished", "Finished"),
]
PROGRESS = re.compile(r" (\d+)/(\d+) ")


def load_overview(database: Any, day: date | None) -> view.DayOverview:
    with database.session() as s:
        return view.overview(s, day)


class CloseDayDialog(QDialog):
    """The date to close (default: the business day after the last closed one)."""

    def __init__(self, default: date, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Close day")
        self.date = QDateEdit(QDate(default.year, default.month, default.day))
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("yyyy-MM-dd")
        form = QFormLayout(self)
        form.addRow(QLabel("Loads the inbox, books activity and corporate actions, settles, revalues,\n"
                           "stores daily values, reconciles and scans drift, step by step."))  # fmt: skip
        form.addRow("Date:", self.date)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Close day")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def chosen(self) -> date:
        return self.date.date().toPython()  # type: ignore[no-any-return]


class DayCyclePanel(Panel):
    name = "daycycle"
    title = "Day cycle"
    step_progress = Signal(str)
    """A line of the running close (emitted from the worker; queued to the GUI thread)."""
    closed = Signal(object)
    """The close's summary (engine.daycycle.cycle.DayResult) or the refusal's text."""

    def __init__(self, desk: Desk, parent: QWidget | None = None) -> None:
        super().__init__(desk, parent)
        self.overview: view.DayOverview | None = None
        self.running = False
        self.caption = ElidedLabel("")
        self.day_combo = QComboBox()
        self.day_combo.setMinimumContentsLength(10)
        self.day_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.day_combo.activated.connect(self._pick_day)
        self.close_button = QPushButton("Close day…")
        self.close_button.setShortcut("Ctrl+Shift+D")
        self.close_button.setToolTip("Run the day cycle for a date (Ctrl+Shift+D)")
        self.close_button.clicked.connect(self.ask_close)
        self.status = ElidedLabel("")
        bar = FlowBar()
        bar.add_field("Date:", self.day_combo)
        bar.add(self.close_button)
        bar.add(self.status, grow=True)
        names = ", ".join(s.name.replace("_", " ") for s in STEPS)
        self.steps = Blotter(STEP_COLUMNS, "step", f"No close yet. Close day… runs, in order: {names}", [])
        self.exceptions = Blotter(
            EXCEPTION_COLUMNS, "id",
            "No exceptions: unknown securities, refused files (row, field, reason), stale prices and "
            "corporate actions not booked appear here",
            [("step", "Step"), ("kind", "Kind")],
        )  # fmt: skip
        self.files = Blotter(
            FILE_COLUMNS, "id",
            "No inbox file met on this date: each file the close loads or refuses appears here with what it brought",
            [("status", "Status"), ("folder", "Folder")],
        )  # fmt: skip
        self.runs = Blotter(RUN_COLUMNS, "day", "No day closed yet", [("status", "Status")])
        for b, n in (
            (self.steps, "steps"),
            (self.exceptions, "exceptions"),
            (self.files, "inbox"),
            (self.runs, "runs"),
        ):
            b.view.export_name = f"daycycle-{n}"
        self.counts = QLabel("")
        self.counts.setWordWrap(True)
        self.counts.setTextFormat(Qt.TextFormat.RichText)
        self.counts.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.counts.setContentsMargins(6, 4, 6, 4)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.counts)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.steps)
        split.addWidget(scroll)
        split.setSizes([300, 200])
        self.tabs = QTabWidget()
        self.tabs.addTab(split, "Steps")
        self.tabs.addTab(self.exceptions, "Exceptions")
        self.tabs.addTab(self.files, "Inbox files")
        self.tabs.addTab(self.runs, "Runs")
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.caption)
        layout.addWidget(bar)
        layout.addWidget(self.tabs, 1)
        self.setWidget(body)
        self.step_progress.connect(self.status.setText)

    # -- reading ---------------------------------------------------------------------------
    def load(self, day: date | None = None) -> None:
        self.desk.run(
            "Loading the day cycle", lambda _t: load_overview(self.desk.database, day), self._loaded
        )

    def _pick_day(self, index: int) -> None:
        text = self.day_combo.itemText(index)
        if text:
            self.load(date.fromisoformat(text))

    def _loaded(self, ov: view.DayOverview) -> None:
        self.overview = ov
        self.steps.model.set_frame(pd.DataFrame(ov.steps, columns=[c.key for c in STEP_COLUMNS]))
        exc = pd.DataFrame(ov.exceptions, columns=[c.key for c in EXCEPTION_COLUMNS])
        exc.insert(0, "id", range(len(exc)))
        self.exceptions.model.set_frame(exc)
        self.files.model.set_frame(pd.DataFrame(ov.files, columns=["id", *[c.key for c in FILE_COLUMNS]]))
        self.runs.model.set_frame(pd.DataFrame(ov.runs, columns=[c.key for c in RUN_COLUMNS]))
        for b in (self.steps, self.exceptions, self.files, self.runs):
            b.view.fit_columns()
        self.day_combo.blockSignals(True)
        self.day_combo.clear()
        self.day_combo.addItems([r["day"] for r in ov.runs])
        if ov.day is not None:
            self.day_combo.setCurrentText(ov.day.isoformat())
        self.day_combo.blockSignals(False)
        last = ov.last_closed.isoformat() if ov.last_closed else "none"
        shown = f"; showing {ov.day} ({len(ov.steps)} step(s), {len(ov.exceptions)} exception(s), " \
                f"{len(ov.files)} file(s))" if ov.day else ""  # fmt: skip
        self.caption.setText(f"  Last closed date: {last}{shown}")
        self.counts.setText(
            "".join(
                f"<p><b>{html.escape(st['step'].replace('_', ' '))}</b> ({html.escape(st['status'])}): "
                f"{html.escape(st['counts']) or 'nothing counted'}</p>"
                for st in ov.steps
            )
        )
        self.tabs.setTabText(1, f"Exceptions ({len(ov.exceptions)})")
        self.tabs.setTabText(2, f"Inbox files ({len(ov.files)})")

    # -- closing ---------------------------------------------------------------------------
    def default_day(self) -> date:
        last = self.overview.last_closed if self.overview else None
        return view.next_business_day(last, self.desk.clock.now().date())

    def ask_close(self) -> None:
        dialog = CloseDayDialog(self.default_day(), self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.close_day(dialog.chosen())

    def close_day(self, day: date) -> None:
        """Run the close of `day` for the signed-in user in a worker; `closed` fires at the end."""
        link: view.DayCycleLink | None = getattr(self.desk, "day_cycle", None)
        if link is None:
            self._refused("no inbox is configured for this desk (start it with `workstation desk`)")
            return
        if self.running:
            return
        self.running = True
        self.close_button.setEnabled(False)
        self.status.setText(f"Closing {day}…")
        user = self.desk.user.username

        def work(token: CancelToken) -> Any:
            def progress(line: str) -> None:
                self.step_progress.emit(line)
                m = PROGRESS.search(line)
                if m:
                    with contextlib.suppress(Cancelled):  # a close is not cut between steps
                        token.progress(int(100 * (int(m.group(1)) - 1) / int(m.group(2))), line)

            return view.close(self.desk.database, link, day, user, progress)

        self.desk.run(f"Closing {day}", work, lambda r: self._closed(day, r), self._refused)

    def _closed(self, day: date, result: Any) -> None:
        self.running = False
        self.close_button.setEnabled(True)
        note = f" ({result.note})" if getattr(result, "note", None) else ""
        self.status.setText(f"{day}: {result.status}{note}")
        self.desk.message.emit(f"Day {day}: {result.status}{note}")
        self.desk.data_changed.emit("daycycle")
        self.load(day)
        self.closed.emit(result)

    def _refused(self, message: str) -> None:
        self.running = False
        self.close_button.setEnabled(True)
        self.status.setText(f"Refused: {message}")
        self.desk.message.emit(f"Close day refused: {message}")
        self.closed.emit(f"Refused: {message}")

    def apply_theme(self, dark: bool) -> None:
        for b in (self.steps, self.exceptions, self.files, self.runs):
            b.dark = dark
            b.view.viewport().update()
