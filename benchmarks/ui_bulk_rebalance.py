"""Benchmark: a PM's bulk rebalance of every account, started with the proposals dock's own Run button.

Offscreen, on a demo book (default: build 10,000 accounts first in a child process, or --db).
Prints, from the click: first progress in the status bar, first proposal row of the run in the
table, done (the run finished and the table holds its proposals), the rows of the run in the
table against the accounts the run wrote, GUI stalls (a 20 ms QTimer heartbeat: gaps over 100 ms
beyond the interval, their count and the worst), the GUI process's peak RSS and the largest
child's (the rebalance process), and the latency of a cancel clicked in the status bar during a
second run (click -> the run reports it has stopped), with the load average.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

HEARTBEAT_MS = 20
STALL_MS = 100


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class Heartbeat:
    """Gaps between ticks of a 20 ms timer in the GUI thread, beyond the interval."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.last = time.perf_counter()
        self.last_cpu = time.thread_time()
        self.stalls: list[float] = []
        self.stall_cpu: list[float] = []
        """GUI-thread CPU ms inside each stall: on a loaded machine most of a long gap is the
        thread waiting for a core (or the GIL), not working; this is what an idle core would show."""
        self.worst = 0.0
        self.timer = QTimer()
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(self.tick)
        self.probes: list[Any] = []

    def start(self) -> None:
        self.last, self.last_cpu = time.perf_counter(), time.thread_time()
        self.timer.start()

    def tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        gap = (now - self.last) * 1000 - HEARTBEAT_MS
        used = (cpu - self.last_cpu) * 1000
        self.last, self.last_cpu = now, cpu
        self.worst = max(self.worst, gap)
        if gap > STALL_MS:
            self.stalls.append(gap)
            self.stall_cpu.append(used)
        for probe in self.probes:
            probe(now)


def run_until(predicate: Any, timeout_ms: int, sleepy: bool = False) -> bool:
    """Run Qt's own event loop, as `app.exec()` does in the desktop, until `predicate()` holds
    (checked every 20 ms by a timer). `ui.startup.process_events_until` (tests, screenshots)
    sleeps 10 ms between passes of `processEvents()`, time in which no timer of the GUI thread
    can fire: on a loaded machine most of the stalls it showed were those sleeps (the stall
    sampler found the GUI thread in `time.sleep`). `sleepy` measures with that loop instead."""
    from PySide6.QtCore import QEventLoop, QTimer

    if sleepy:
        from ui.startup import process_events_until

        return process_events_until(predicate, timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    loop = QEventLoop()

    def check() -> None:
        if predicate() or time.monotonic() > deadline:
            loop.quit()

    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(check)
    timer.start()
    if not predicate():
        loop.exec()
    timer.stop()
    return bool(predicate())


class StallSampler:
    """A plain thread that, while the GUI heartbeat is overdue (no tick for more than the stall
    limit), notes what every thread of this process is doing: its innermost frame in the project's
    code and its innermost frame at all. Samples are taken when this thread gets the GIL, so they
    name who held it (or was running) while the GUI thread waited."""

    def __init__(self, beat: Heartbeat, every_s: float = 0.01) -> None:
        self.beat = beat
        self.every_s = every_s
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._gui = threading.get_ident()
        self._thread = threading.Thread(target=self._run, name="stall-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        names = {t.ident: t.name for t in threading.enumerate()}
        me = threading.get_ident()
        limit = (HEARTBEAT_MS + STALL_MS) / 1000
        while not self._stop.wait(self.every_s):
            if time.perf_counter() - self.beat.last < limit:
                continue
            self.samples += 1
            frames = sys._current_frames()
            if len(names) != len(frames):
                names = {t.ident: t.name for t in threading.enumerate()}
            for ident, frame in frames.items():
                if ident == me:
                    continue
                where, ours = self._describe(frame)
                if where.startswith(("threading.py:wait", "queue.py:get", "selectors.py:select")):
                    continue  # an idle worker
                who = "GUI" if ident == self._gui else names.get(ident, str(ident))
                self.counts[(who, ours, where)] += 1

    @staticmethod
    def _describe(frame: Any) -> tuple[str, str]:
        root = str(Path(__file__).resolve().parents[1])
        inner = f"{Path(frame.f_code.co_filename).name}:{frame.f_code.co_name}"
        ours = ""
        f = frame
        while f is not None:
            name = f.f_code.co_filename
            if name.startswith(root) and "/benchmarks/" not in name:
                ours = f"{os.path.relpath(name, root)}:{f.f_code.co_name}:{f.f_lineno}"
                break
            f = f.f_back
        return inner, ours

    def report(self, top: int = 15) -> list[str]:
        lines = [
            f"stall samples: {self.samples} (every {self.every_s * 1000:.0f} ms while the GUI was overdue)"
        ]
        for (who, ours, where), n in self.counts.most_common(top):
            lines.append(f"  {n:5d}  {who:<14} {ours:<60} {where}")
        return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="an existing book (default: build a demo book first)")
    ap.add_argument("--accounts", type=int, default=10_000)
    ap.add_argument("--mode", default="full")
    ap.add_argument("--cancel-after", type=float, default=8.0, help="seconds into the second run")
    ap.add_argument("--no-cancel-run", action="store_true")
    ap.add_argument("--sample-stalls", action="store_true", help="print what ran while the GUI stalled")
    ap.add_argument(
        "--sleepy-loop",
        action="store_true",
        help="wait with process_events_until (sleeps 10 ms a pass), as before",
    )
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ws-bulk-ui-")
    if args.db:
        url = args.db
    else:
        script = Path(__file__).with_name("ui_startup.py")
        cmd = [sys.executable, str(script), "--build-only", str(Path(tmp) / "book.db"), "--accounts"]
        url = subprocess.run(
            [*cmd, str(args.accounts)], check=True, capture_output=True, text=True
        ).stdout.split()[-1]

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)
    app = QApplication.instance() or QApplication([])
    from engine.views.users import desk_users
    from ui.desk import Desk
    from ui.main_window import MainWindow
    from ui.settings import UserSettings
    from ui.theme import apply_theme
    from workstation.compose import open_store

    def process_events_until(predicate: Any, timeout_ms: int) -> bool:
        return run_until(predicate, timeout_ms, args.sleepy_loop)

    apply_theme(app, "light")
    database = open_store(url)
    user = next(u for u in desk_users(database) if u.username == "pat.pm")
    desk = Desk(database, user)
    window = MainWindow(desk, UserSettings(user.username), restore=False)
    window.resize(1600, 960)
    window.show()
    panel: Any = window.docks["proposals"]
    panel.show()
    panel.raise_()
    t_open = time.perf_counter()
    process_events_until(lambda: desk.book is not None and panel.loaded and not desk.jobs.running, 300_000)
    opened = time.perf_counter() - t_open
    rows_before = panel.blotter.model.total_rows
    beat = Heartbeat()
    beat.start()
    sampler = StallSampler(beat) if args.sample_stalls else None
    if sampler is not None:
        sampler.start()
    rss_idle = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def one_run(cancel_after: float | None) -> dict[str, Any]:
        marks: dict[str, float] = {}
        ended: list[Any] = []
        panel.run_finished.connect(ended.append)
        panel.selection.setCurrentText("all")
        panel.mode.setCurrentText(args.mode)
        stalls0 = len(beat.stalls)
        beat.worst = 0.0

        def probe(now: float) -> None:
            job = panel.run_state.job
            if "progress" not in marks and window.progress.reporting and window.progress.job is job:
                marks["progress"] = now
            batch = panel.run_state.batch
            if "row" not in marks and batch and panel.blotter.model.count_where("batch_id", batch):
                marks["row"] = now
            if cancel_after is not None and "cancel" not in marks and now - t0 >= cancel_after:
                marks["cancel_target_ok"] = float(window.progress.job is job)
                marks["cancel"] = now
                window.progress.cancel.click()  # the status bar's cancel button

        beat.probes = [probe]
        t0 = time.perf_counter()
        panel.run_button.click()
        process_events_until(lambda: bool(ended), 1_800_000)
        t_end = time.perf_counter()
        beat.probes = []
        panel.run_finished.disconnect(ended.append)
        state = ended[0]
        summary = state.summary or {}
        return {
            "first_progress": marks.get("progress", t_end) - t0,
            "first_row": marks.get("row", t_end) - t0 if "row" in marks else None,
            "done": t_end - t0,
            "rows": state.rows,
            "written": summary.get("accounts"),
            "cancelled": bool(summary.get("cancelled")),
            "cancel_latency": t_end - marks["cancel"] if "cancel" in marks else None,
            "cancel_target_ok": bool(marks.get("cancel_target_ok")) if "cancel" in marks else None,
            "stalls": beat.stalls[stalls0:],
            "stall_cpu": beat.stall_cpu[stalls0:],
            "worst": beat.worst,
            "failed": state.failed,
            "summary": summary,
        }

    load0 = load()
    full = one_run(None)
    # after done: let the shared-desk feed and the table settle, stalls still counted
    settle0 = time.perf_counter()
    stalls_settle0 = len(beat.stalls)
    process_events_until(lambda: time.perf_counter() - settle0 > 5 and not desk.jobs.running, 120_000)
    settle_stalls = beat.stalls[stalls_settle0:]
    cancel = None if args.no_cancel_run else one_run(args.cancel_after)
    load1 = load()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    def ms(v: float | None) -> str:
        return "n/a" if v is None else f"{v * 1000:,.0f} ms"

    print(f"| bulk rebalance from the desk ({args.accounts:,}-account book, mode {args.mode}) | value |")
    print("|---|---|")
    print(f"| window open, book valued, proposals loaded ({rows_before:,} rows before) | {opened:.1f} s |")
    print(f"| click Run -> first progress in the status bar | {ms(full['first_progress'])} |")
    print(f"| click Run -> first proposal row of the run in the table | {ms(full['first_row'])} |")
    print(f"| click Run -> done (table holds the run's proposals) | {full['done']:.1f} s |")
    print(f"| proposals the run wrote / rows of the run in the table | {full['written']} / {full['rows']} |")
    worst = max(full["stalls"], default=0.0)
    print(
        f"| GUI stalls > {STALL_MS} ms during the run (count, worst; heartbeat {HEARTBEAT_MS} ms) "
        f"| {len(full['stalls'])}, {worst:,.0f} ms (longest gap beyond interval {full['worst']:,.0f} ms) |"
    )
    cpu = full["stall_cpu"]
    print(
        f"| GUI-thread CPU inside those stalls: max, stalls with > {STALL_MS} ms of it "
        f"| {max(cpu, default=0):,.0f} ms, {sum(c > STALL_MS for c in cpu)} |"
    )
    print(f"| GUI stalls > {STALL_MS} ms in the 5 s after done | {len(settle_stalls)} |")
    if full["failed"]:
        print(f"| run failed | {full['failed']} |")
    if cancel is not None:
        print(
            f"| second run: status-bar cancel at {args.cancel_after:.0f} s -> run stopped "
            f"| {ms(cancel['cancel_latency'])} (cancelled: {cancel['cancelled']}; "
            f"the bar showed the rebalance: {cancel['cancel_target_ok']}) |"
        )
        print(
            f"| second run: rows of the cancelled run in the table | {cancel['rows']} "
            f"(stalls > {STALL_MS} ms: {len(cancel['stalls'])}, worst {max(cancel['stalls'], default=0):,.0f} ms) |"
        )
    now = int(Path(f"/proc/{os.getpid()}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    print(
        f"| GUI process peak RSS (peak by the time the book was open: {rss_idle:,.0f} MiB; "
        f"RSS at the end {now:,.0f} MiB) | {rss:,.0f} MiB |"
    )
    peaks = (full.get("summary") or {}).get("process_peak_mib") or {}
    print(
        f"| rebalance child process peak RSS / its largest solver worker | "
        f"{peaks.get('rebalance_process', 'n/a')} / {peaks.get('largest_solver_worker', 'n/a')} MiB "
        f"(largest child of this process incl. any book build: {child:,.0f} MiB) |"
    )
    print(
        f"| event loop while waiting | {'process_events_until (10 ms sleeps)' if args.sleepy_loop else 'QEventLoop.exec'} |"
    )
    print(f"| load average (1, 5, 15 min) start -> end | {load0} -> {load1} |")
    cpu_s = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        f"| CPU s: GUI process / its children (rebalance child and solvers) | "
        f"{cpu_s.ru_utime + cpu_s.ru_stime:,.1f} / {kids.ru_utime + kids.ru_stime:,.1f} |"
    )
    if sampler is not None:
        sampler.stop()
        print("\n".join(sampler.report()))
    window.setProperty("force_close", True)
    window.close()
    desk.jobs.wait()


if __name__ == "__main__":
    main()
