"""Benchmark: desktop startup on the 200-account demo book (goal: window usable within 3 s).

Measures from process start (before importing Qt) to: window shown and answering events
(usable), the PM panels showing the book (the last run's copy with --cache-dir, as `workstation`
keeps one), the fresh book, and the trader workspace's calendars; wall time and process CPU.
Builds the demo book first in a temporary SQLite file, in a child process, unless --db is given.

Bytecode: this sandbox sets PYTHONDONTWRITEBYTECODE=1, so every start compiled the project's
~150 modules from source (about 0.4 CPU-s) where an installed copy has them compiled. By default
the benchmark keeps bytecode in --bytecode-dir (the first run fills it and is slower); pass
--no-bytecode-cache to measure the sandbox as it is.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse  # noqa: E402
import itertools  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
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


def cpu_now() -> float:
    """CPU seconds this process has used (all threads): what an idle machine's wall time nears."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="an existing book (default: build a 200-account demo book first)")
    ap.add_argument("--accounts", type=int, default=200)
    ap.add_argument("--no-shell", action="store_true", help="import everything first (the old path)")
    ap.add_argument(
        "--cache-dir",
        help="keep the valued book here as `workstation` does (run twice: the second run starts warm)",
    )
    ap.add_argument("--bytecode-dir", default=str(Path(tempfile.gettempdir()) / "ws-bench-pyc"))
    ap.add_argument("--no-bytecode-cache", action="store_true", help="compile from source every run")
    ap.add_argument(
        "--trace", action="store_true", help="print each job's start and end and the GUI's stalls"
    )
    ap.add_argument("--build-only", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.build_only:
        print(build(Path(args.build_only), args.accounts))
        return
    tmp = tempfile.mkdtemp(prefix="ws-bench-")
    built_s = 0.0
    if args.db:
        url = args.db
    else:  # in a child process: building imports the engine, which would flatter this one's start
        b0 = time.perf_counter()
        cmd = [sys.executable, __file__, "--build-only", str(Path(tmp) / "book.db")]
        url = subprocess.run(
            [*cmd, "--accounts", str(args.accounts)], check=True, capture_output=True, text=True
        ).stdout.split()[-1]
        built_s = time.perf_counter() - b0
    bytecode = "compiled from source every run (PYTHONDONTWRITEBYTECODE)"
    if not args.no_bytecode_cache:
        warm = Path(args.bytecode_dir).is_dir()
        sys.pycache_prefix = args.bytecode_dir
        sys.dont_write_bytecode = False
        bytecode = f"cached in {args.bytecode_dir} ({'warm' if warm else 'cold: first run compiles'})"
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
    from engine.store.database import mask_url
    from engine.views.users import desk_users
    from ui.coldstart import freeze_startup_objects
    from ui.desk import BookCache, Desk
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
    cache = BookCache(Path(args.cache_dir), mask_url(database.url)) if args.cache_dir else None
    warm = cache is not None and cache.path.exists()
    desk = Desk(database, user, book_cache=cache)
    timeline: list[tuple[str, str, float]] = []
    if args.trace:
        desk.jobs.started.connect(lambda j: timeline.append(("start", j.name, time.perf_counter())))
        desk.jobs.ended.connect(lambda j: timeline.append(("end", j.name, time.perf_counter())))
    window = MainWindow(desk, UserSettings(user.username), restore=False)
    window.show()
    freeze_startup_objects()
    answered = []
    QTimer.singleShot(0, lambda: answered.append(time.perf_counter()))
    process_events_until(lambda: bool(answered), 30_000)
    usable = answered[0] - start
    cpu_usable = cpu_now()
    gui_usable = time.thread_time()
    beats = [(time.perf_counter(), time.thread_time())]  # wall and GUI-thread CPU at each tick
    heart = QTimer()
    heart.timeout.connect(lambda: beats.append((time.perf_counter(), time.thread_time())))
    heart.start(20)
    grid = window.docks["holdings"].grid.models["accounts"]
    process_events_until(lambda: grid.rowCount() > 0, 60_000)
    first_rows = time.perf_counter() - start
    cpu_first_rows = cpu_now()
    first_cached = desk.book is not None and desk.book.cached_at is not None
    process_events_until(lambda: desk.book is not None and desk.book.cached_at is None, 60_000)
    drift = window.docks["drift"]  # the heatmap's matrix of the fresh book comes from a worker
    process_events_until(lambda: drift._asked_done == drift._asked > 0, 60_000)  # type: ignore[attr-defined]
    fresh = time.perf_counter() - start
    cpu_fresh = cpu_now()
    gui_fresh = time.thread_time()
    heart.stop()
    gaps = [(b[0] - a[0], b[1] - a[1]) for a, b in itertools.pairwise(beats)]
    stalls = sorted((g for g, _cpu in gaps), reverse=True)
    stall_cpu = max((cpu for g, cpu in gaps if g > 0.1), default=0.0)
    process_events_until(lambda: desk.book is not None and not desk.jobs.running, 60_000)
    process_events_until(lambda: False, 50)
    pm_filled = time.perf_counter() - start
    cpu_filled = cpu_now()
    rows = grid.rowCount()
    t = time.perf_counter()
    window.reset_workspace("trader")
    process_events_until(
        lambda: window.docks["clock"].clock.model.rowCount() > 0 and not desk.jobs.running, 60_000
    )
    trader = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("| step (from process start unless noted) | wall s | process CPU s |")
    print("|---|---|---|")
    state = "warm (last run's copy)" if warm else "cold (empty)" if cache else "off"
    print(f"| book cache | {state} | |")
    print(f"| bytecode | {bytecode} | |")
    if built_s:
        print(f"| build demo book ({args.accounts} accounts, not part of startup) | {built_s:.2f} | |")
    if shell_s is not None:
        print(f"| shell window painted (first paint) | {shell_s:.2f} | |")
        print(f"| engine imported on a thread while the shell painted (duration) | {preload_s:.2f} | |")
        print(f"| longest GUI-thread gap while importing on the thread | {worst_gap:.2f} | |")
    print(f"| Qt, pandas, SQLAlchemy, the engine and the ui imported | {imported:.2f} | |")
    print(f"| open_store: schema check, reference seed (duration) | {store_s:.2f} | |")
    print(f"| window shown and answering events | {usable:.2f} | {cpu_usable:.2f} |")
    source = "last session's copy" if first_cached else "fresh load"
    print(
        f"| accounts grid, heatmap and FX show the book ({source}; goal < 3 s) | {first_rows:.2f} | {cpu_first_rows:.2f} |"
    )
    print(f"| fresh book valued and on screen (grid, FX, heatmap) | {fresh:.2f} | {cpu_fresh:.2f} |")
    print(f"| process CPU from usable to fresh book shown | | {cpu_fresh - cpu_usable:.2f} |")
    print(f"| GUI-thread CPU from usable to fresh book shown | | {gui_fresh - gui_usable:.2f} |")
    over = [s for s in stalls if s > 0.1]
    worst = f"{stalls[0] * 1000:.0f} ms" if stalls else "-"
    print(f"| GUI stalls > 100 ms from usable to fresh book shown (worst) | {len(over)} ({worst}) | |")
    print(f"| GUI-thread CPU inside any of those stalls (most) | | {stall_cpu:.3f} |")
    print(
        f"| PM panels filled, every load done ({rows} accounts, performance chart) | {pm_filled:.2f} | {cpu_filled:.2f} |"
    )
    print(f"| switch to trader workspace, calendars loaded (duration) | {trader:.2f} | |")
    print(f"| peak RSS | {peak:,.0f} MiB | |")
    print(f"| load average (1 min) at the end | {Path('/proc/loadavg').read_text().split()[0]} | |")
    for kind, name, at in timeline:
        print(f"  {at - start:7.2f} s  {kind:5}  {name}")
    window.setProperty("force_close", True)
    window.close()
    desk.jobs.wait()


if __name__ == "__main__":
    main()
