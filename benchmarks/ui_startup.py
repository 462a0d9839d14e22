"""Benchmark: desktop startup on the 200-account demo book (goal: window usable within 3 s).

Measures from process start (before importing Qt) to: window shown and answering events
(usable), the PM panels filled with the valued book, and the trader workspace's calendars.
Builds the demo book first in a temporary SQLite file unless --db is given (not timed).
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse  # noqa: E402
import itertools  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def build(path: Path, accounts: int) -> str:
    from datetime import date

    import resources
    from engine.demo.build import build_demo_book
    from workstation.compose import open_store

    url = f"sqlite:///{path}"
    db = open_store(url)
    build_demo_book(db, resources.path("reference"), accounts=accounts, today=date(2026, 11, 22))
    db.dispose()
    return url


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="an existing book (default: build a 200-account demo book first)")
    ap.add_argument("--accounts", type=int, default=200)
    ap.add_argument("--no-shell", action="store_true", help="import everything first (the old path)")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ws-bench-")
    built_s = 0.0
    if args.db:
        url = args.db
    else:
        b0 = time.perf_counter()
        url = build(Path(tmp) / "book.db", args.accounts)
        built_s = time.perf_counter() - b0
    start = time.perf_counter()

    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)
    app = QApplication.instance() or QApplication([])
    shell_s = preload_s = None
    if not args.no_shell:  # what `workstation` does: paint the shell, import the engine on a thread
        from ui.coldstart import preload, show_shell

        shell, painted = show_shell(app)
        shell_s = painted - start
        ticks: list[float] = []
        beat = QTimer()
        beat.timeout.connect(lambda: ticks.append(time.perf_counter()))
        beat.start(20)
        phases = preload(app, shell)
        beat.stop()
        preload_s = phases["background"]
        beats = [painted, *ticks]
        worst_gap = max((b - a for a, b in itertools.pairwise(beats)), default=0.0)
    from ui.data.users import desk_users
    from ui.desk import Desk
    from ui.main_window import MainWindow
    from ui.settings import UserSettings
    from ui.startup import process_events_until
    from ui.theme import apply_theme
    from workstation.compose import open_store

    imported = time.perf_counter() - start
    apply_theme(app, "light")
    t_store = time.perf_counter()
    database = open_store(url)
    store_s = time.perf_counter() - t_store
    user = next(u for u in desk_users(database) if u.username == "pat.pm")
    desk = Desk(database, user)
    window = MainWindow(desk, UserSettings(user.username), restore=False)
    window.show()
    answered = []
    QTimer.singleShot(0, lambda: answered.append(time.perf_counter()))
    process_events_until(lambda: bool(answered), 30_000)
    usable = answered[0] - start
    ru = resource.getrusage(resource.RUSAGE_SELF)
    cpu_usable = ru.ru_utime + ru.ru_stime
    process_events_until(lambda: desk.book is not None and not desk.jobs.running, 60_000)
    process_events_until(lambda: False, 50)
    pm_filled = time.perf_counter() - start
    rows = window.docks["holdings"].grid.models["accounts"].rowCount()
    t = time.perf_counter()
    window.reset_workspace("trader")
    process_events_until(
        lambda: window.docks["clock"].clock.model.rowCount() > 0 and not desk.jobs.running, 60_000
    )
    trader = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("| step | seconds |")
    print("|---|---|")
    if built_s:
        print(f"| build demo book ({args.accounts} accounts, not part of startup) | {built_s:.2f} |")
    if shell_s is not None:
        print(f"| shell window painted (first paint, from process start) | {shell_s:.2f} |")
        print(f"| engine imported on a thread while the shell painted | {preload_s:.2f} |")
        print(f"| longest GUI-thread gap while importing on the thread | {worst_gap * 1000:.0f} ms |")
    print(f"| of which: importing Qt, pandas, SQLAlchemy and the ui | {imported:.2f} |")
    print(f"| of which: open_store (schema check, reference seed) | {store_s:.2f} |")
    print(f"| window shown and answering events (usable; goal < 3 s) | {usable:.2f} |")
    print(f"| CPU seconds the process had used when usable (contention-free estimate) | {cpu_usable:.2f} |")
    print(f"| PM panels filled: {rows} accounts valued, drift, FX | {pm_filled:.2f} |")
    print(f"| switch to trader workspace, calendars loaded | {trader:.2f} |")
    print(f"| peak RSS | {peak:,.0f} MiB |")
    window.setProperty("force_close", True)
    window.close()
    desk.jobs.wait()


if __name__ == "__main__":
    main()
