"""The PM workspace's three book docks (heatmap, FX, accounts grid) share ONE load of the book at
startup and one per Refresh all: each asking for its own read and valued the 10,000-account book
twice (about 2 CPU-s and a second set of frames while the window was starting). The performance
dock beside them loads once the book is on screen; the heatmap's matrix and the FX exposure come with the book."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from engine.views.drift import drift_matrix
from engine.views.fx_exposure import Scope, exposure
from engine.views.users import desk_users
from tests.ui.helpers import close_window
from ui.desk import Desk
from ui.main_window import MainWindow
from ui.screenshot import wait_ready
from ui.settings import UserSettings
from ui.workers import Job, Jobs


def test_the_book_docks_share_one_load_at_startup_and_on_refresh(qtbot, demo_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    user = next(u for u in desk_users(demo_db) if u.username == "pat.pm")
    desk = Desk(demo_db, user, jobs=Jobs())
    started: list[str] = []
    events: list[tuple[str, str]] = []
    desk.jobs.started.connect(lambda job: started.append(job.name) if isinstance(job, Job) else None)
    desk.jobs.started.connect(lambda job: events.append(("start", job.name)))
    desk.jobs.ended.connect(lambda job: events.append(("end", job.name)))
    desk.book_ready.connect(lambda _data: events.append(("shown", "book")))
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(desk, UserSettings(user.username, store), theme="light", restore=False)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    assert wait_ready(window, 60_000)
    book_docks = [window.docks[n] for n in ("drift", "fx", "holdings")]
    assert all(d.isVisible() and d.loaded for d in book_docks)
    assert started.count("Loading the book") == 1
    # the heatmap's matrix is grouped in the book's own load: no second job
    assert started.count("Drift by bucket") == 0
    heatmap = window.docks["drift"].heatmap
    expected = drift_matrix(desk.book.positions, desk.book.accounts, heatmap.kind.currentText())
    assert sorted(heatmap.account_ids.tolist()) == sorted(expected.account_ids.tolist())
    assert len(heatmap.account_ids) == 12 and heatmap.buckets == expected.buckets
    # so is the FX panel's exposure for the scope it shows (the firm)
    fx = window.docks["fx"]
    ccy, rows = exposure(desk.book.snap, Scope())
    assert set(desk.book.fx) == {Scope()} and desk.book.fx[Scope()][0] == ccy
    assert fx.panel.model.rowCount() == len(rows) > 1
    assert fx.panel.model.column_values("currency").tolist() == rows["currency"].tolist()
    # the performance dock (visible beside the book) asks for its data once the book is shown
    assert events.index(("shown", "book")) < events.index(("start", "Loading accounts"))
    assert window.docks["performance"].chart.account.count() == 12
    assert window.docks["performance"].data is not None
    assert desk.book is not None and len(desk.book.accounts) == 12
    assert window.docks["holdings"].grid.models["accounts"].rowCount() == 12
    first = desk.book

    heatmap.kind.setCurrentText("currency")  # a kind the book has not grouped: a job, then the loads'
    assert wait_ready(window, 60_000)
    assert started.count("Drift by bucket") == 1
    assert heatmap.buckets == drift_matrix(desk.book.positions, desk.book.accounts, "currency").buckets

    household = str(desk.book.snap.accounts["household"].iloc[0])
    fx._scope("household", household)  # the scope the panel shows is the one the loads compute
    assert fx.panel.model.rowCount() == len(exposure(desk.book.snap, Scope("household", household))[1])

    window.refresh_all()
    assert wait_ready(window, 60_000)
    assert started.count("Loading the book") == 2
    assert started.count("Drift by bucket") == 1
    assert set(desk.book.drift) == {"currency"}
    assert set(desk.book.fx) == {Scope("household", household)}
    assert desk.book is not first and desk.book.accounts.equals(first.accounts)
    close_window(window)
