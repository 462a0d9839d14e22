"""The main window: every panel a dock, role workspaces, saved layouts per user, theme, status bar."""

from __future__ import annotations

from datetime import datetime

import qtawesome as qta
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QColor,
    QGuiApplication,
    QKeySequence,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QColorDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QTableView,
    QToolButton,
    QWidget,
)

from engine.store.database import mask_url
from ui.desk import Desk
from ui.panels.base import Panel
from ui.settings import UserSettings
from ui.shared_desk import SharedDeskLink
from ui.theme import apply_theme, updown_defaults
from ui.workers import Job
from ui.workspaces import PANELS, WORKSPACES, arrange
from widgets.colors import UpDown
from widgets.formatting import set_display_zone
from widgets.table_model import FrameTableModel
from widgets.table_view import DataTableView
from widgets.toolbar import refresh_icons, themed_icon


class JobProgress(QWidget):
    """Status-bar progress of a running job, with a cancel button.

    A job that reports progress (a rebalance, a release) keeps the bar until it ends: short loads
    started meanwhile (a blotter re-read, a reload from the shared desk) do not take it over, so
    the cancel button always cancels the long job it shows, never a reload started after it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel("")
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(160)
        self.bar.setMaximumHeight(14)
        self.cancel = QToolButton()
        self.cancel.setIcon(qta.icon("fa5s.times-circle"))
        self.cancel.setToolTip("Cancel this job")
        self.cancel.setAutoRaise(True)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.label)
        lay.addWidget(self.bar)
        lay.addWidget(self.cancel)
        self.job: Job | None = None
        self.reporting = False  # the job shown has reported progress: it keeps the bar
        self.cancel.clicked.connect(self._cancel)
        self.hide()

    def track(self, job: Job) -> None:
        job.signals.progress.connect(lambda pct, text, j=job: self._progress(j, pct, text))
        if self.job is None or not self.reporting:
            self._show(job)

    def _show(self, job: Job) -> None:
        self.job = job
        self.reporting = False
        self.label.setText(job.name + "…")
        self.bar.setRange(0, 0)
        self.show()

    def _progress(self, job: Job, pct: int, text: str) -> None:
        if job is not self.job:
            if self.reporting and self.job is not None:
                return  # another long job holds the bar
            self._show(job)
        self.reporting = True
        self.bar.setRange(0, 100)
        self.bar.setValue(pct)
        if text:
            self.label.setText(text)

    def _cancel(self) -> None:
        if self.job is not None:
            self.job.token.cancel()

    def ended(self, job: Job, remaining: int) -> None:
        if job is self.job or remaining == 0:
            self.job = None
            self.reporting = False
            self.hide()


def default_size() -> QSize:
    """1600x960, or the screen's free area when it is smaller (a 1280x720 laptop)."""
    screen = QGuiApplication.primaryScreen()
    if screen is None:
        return QSize(1600, 960)
    free = screen.availableGeometry()
    return QSize(min(1600, free.width()), min(960, free.height()))


class MainWindow(QMainWindow):
    """One user's desk. `workspace` is pm, compliance or trader; layouts restore per user."""

    def __init__(
        self, desk: Desk, settings: UserSettings, theme: str = "light", restore: bool = True
    ) -> None:
        super().__init__()
        self.desk = desk
        self.settings = settings
        self.setObjectName("mainWindow")
        self.setWindowTitle(f"SMA Workstation — {desk.user.display_name} ({desk.user.role})")
        self.setDockNestingEnabled(True)
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks
            | QMainWindow.DockOption.AllowNestedDocks
            | QMainWindow.DockOption.AllowTabbedDocks
        )
        self.resize(default_size())
        set_display_zone(desk.clock.user_tz)  # blotter times in the user's zone, with its name
        self.docks: dict[str, Panel] = {}
        for cls in PANELS:
            panel = cls(desk, self)
            self.docks[panel.name] = panel
            self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, panel)
            panel.hide()
        self.workspace = desk.user.workspace
        self.theme = settings.get("theme", theme) or theme
        self._build_menus()
        self._build_status()
        self.shared = SharedDeskLink(self, desk.database.engine.url, self.docks)
        desk.message.connect(lambda m: self.statusBar().showMessage(m, 15_000))
        desk.jobs.started.connect(self.progress.track)
        desk.jobs.ended.connect(self._job_ended)  # a method: Qt drops it with the window
        desk.book_ready.connect(self._book_status)
        self.set_theme(self.theme)
        self._restore_columns()
        restored = restore and self.restore_layout(None)
        self._arrange_on_show = not restored
        if not restored:
            self.reset_workspace(self.workspace)

    # ---- menus ---------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        refresh = QAction(qta.icon("fa5s.sync"), "&Refresh all", self)
        refresh.setShortcut(QKeySequence.StandardKey.Refresh)
        refresh.triggered.connect(self.refresh_all)
        file.addAction(refresh)
        file.addSeparator()
        quit_ = QAction("&Quit", self)
        quit_.setShortcut(QKeySequence.StandardKey.Quit)
        quit_.triggered.connect(self.close)
        file.addAction(quit_)

        ws = bar.addMenu("&Workspace")
        for i, (key, w) in enumerate(WORKSPACES.items(), start=1):
            act = QAction(w.title, self)
            act.setShortcut(QKeySequence(f"Ctrl+{i}"))
            act.triggered.connect(lambda _c=False, k=key: self.reset_workspace(k))
            ws.addAction(act)
        ws.addSeparator()
        save = QAction(qta.icon("fa5s.save"), "&Save workspace as…", self)
        save.triggered.connect(self._save_named)
        ws.addAction(save)
        self.load_menu = ws.addMenu(qta.icon("fa5s.folder-open"), "&Load workspace")
        self.load_menu.aboutToShow.connect(self._fill_load_menu)
        reset = QAction(qta.icon("fa5s.undo"), "&Reset to default", self)
        reset.triggered.connect(lambda: self.reset_workspace(self.workspace))
        ws.addAction(reset)

        view = bar.addMenu("&View")
        for panel in self.docks.values():
            view.addAction(panel.toggleViewAction())
        view.addSeparator()
        themes = QActionGroup(self)
        for t in ("light", "dark"):
            act = QAction(f"{t.title()} theme", self, checkable=True)
            act.setChecked(t == self.theme)
            act.triggered.connect(lambda _c=False, tt=t: self.set_theme(tt))
            themes.addAction(act)
            view.addAction(act)
        view.addSeparator()
        up = QAction("Gain colour…", self)
        up.triggered.connect(lambda: self._pick_colour("up_colour"))
        down = QAction("Loss colour…", self)
        down.triggered.connect(lambda: self._pick_colour("down_colour"))
        view.addAction(up)
        view.addAction(down)

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.user_label = QLabel(f"  {self.desk.user.username} · {self.desk.user.role}  ")
        self.db_label = QLabel(f"  {mask_url(self.desk.database.url)}  ")
        self.asof_label = QLabel("")
        self.progress = JobProgress()
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.asof_label)
        sb.addPermanentWidget(self.user_label)
        sb.addPermanentWidget(self.db_label)

    def _job_ended(self, job: Job) -> None:
        self.progress.ended(job, len(self.desk.jobs.running))

    def _book_status(self, data: object) -> None:
        snap = data.snap  # type: ignore[attr-defined]
        kind = "SIMULATED demo book" if snap.meta.get("kind") == "simulated-demo" else "book"
        text = f"  {kind} as of {snap.as_of} · {len(snap.accounts):,} accounts"
        cached_at = getattr(data, "cached_at", None)
        if cached_at is not None:  # last session's copy, until the fresh load replaces it
            saved = datetime.fromtimestamp(cached_at, self.desk.clock.user_tz).strftime("%H:%M")
            text += f" · copy saved {saved}, refreshing…"
        self.asof_label.setText(text + "  ")

    # ---- workspaces and layouts ----------------------------------------------------------------
    def reset_workspace(self, key: str) -> None:
        self.workspace = key
        arrange(self, self.docks, key)
        self.statusBar().showMessage(f"{WORKSPACES[key].title} workspace", 5000)

    def save_layout(self, name: str | None = None) -> None:
        self.settings.save_layout(name, self.saveGeometry(), self.saveState(), self.workspace)

    def restore_layout(self, name: str | None) -> bool:
        saved = self.settings.load_layout(name)
        if saved is None:
            return False
        geometry, state, base = saved
        if geometry.size():
            self.restoreGeometry(geometry)
        ok = bool(self.restoreState(state))
        if ok:
            self.workspace = base
        return ok

    def _save_named(self) -> None:
        name, ok = QInputDialog.getText(self, "Save workspace", "Name:")
        if ok and name.strip():
            self.save_layout(name.strip())
            self.statusBar().showMessage(f"Saved workspace {name.strip()!r}", 5000)

    def _fill_load_menu(self) -> None:
        self.load_menu.clear()
        names = self.settings.workspace_names()
        if not names:
            act = self.load_menu.addAction("(no saved workspaces)")
            act.setEnabled(False)
        for n in names:
            self.load_menu.addAction(n, lambda n=n: self.restore_layout(n))

    # ---- look ----------------------------------------------------------------------------------
    def set_theme(self, theme: str) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, theme)
        self.theme = theme
        self.settings.set("theme", theme)
        dark = theme == "dark"
        self.desk.dark = dark
        up_default, down_default = updown_defaults(theme)
        updown = UpDown(
            QColor(self.settings.get(f"up_colour_{theme}", up_default)),
            QColor(self.settings.get(f"down_colour_{theme}", down_default)),
        )
        models = self.table_models()
        for model in models:
            model.updown = updown
        for panel in self.docks.values():
            panel.apply_theme(dark)
        refresh_icons(self)
        self.progress.cancel.setIcon(themed_icon("fa5s.times-circle"))
        for model in models:
            if model.rowCount():
                model.dataChanged.emit(
                    model.index(0, 0), model.index(model.rowCount() - 1, model.columnCount() - 1)
                )

    def grid_views(self) -> dict[str, DataTableView]:
        """Every grid by a stable name (dock name and its place in the dock), for saved columns."""
        out: dict[str, DataTableView] = {}
        for panel in self.docks.values():
            for i, view in enumerate(panel.findChildren(DataTableView)):
                out[f"{panel.name}.{i}"] = view
        return out

    def _restore_columns(self) -> None:
        """Each grid's hidden columns as this user left them (users/<name>/columns/<grid>)."""
        for name, view in self.grid_views().items():
            saved = self.settings.get(f"columns/{name}", "")
            if saved:
                view.hide_keys(set(saved.split(",")))
            view.columns_changed.connect(
                lambda n=name, v=view: self.settings.set(f"columns/{n}", ",".join(v.hidden_keys()))
            )

    def table_models(self) -> list[FrameTableModel]:
        """Every table model shown in this window (models are not QObject children of it)."""
        out: list[FrameTableModel] = []
        for view in self.findChildren(QTableView):
            model = view.model()
            if isinstance(model, FrameTableModel) and model not in out:
                out.append(model)
        return out

    def _pick_colour(self, key: str) -> None:
        current = QColor(
            self.settings.get(f"{key}_{self.theme}", updown_defaults(self.theme)[key == "down_colour"])
        )
        colour = QColorDialog.getColor(current, self, "Choose colour")
        if colour.isValid():
            self.settings.set(f"{key}_{self.theme}", colour.name())
            self.set_theme(self.theme)

    # ---- lifecycle -----------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        """The default layout is sized for the window as first shown (a 1280x720 laptop gets
        the compact one), not for the size it had while being built."""
        super().showEvent(event)
        if self._arrange_on_show:
            self._arrange_on_show = False
            self.reset_workspace(self.workspace)

    def refresh_all(self) -> None:
        for panel in self.docks.values():
            if panel.isVisible():
                panel.refresh()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.desk.jobs.running and QApplication.instance() and not self.property("force_close"):
            answer = QMessageBox.question(self, "Jobs running", "Jobs are still running. Quit anyway?")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
            for job in list(self.desk.jobs.running.values()):
                job.token.cancel()
        self.save_layout(None)
        self.shared.close()
        self.desk.close()
        super().closeEvent(event)
