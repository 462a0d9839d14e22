"""Benchmark: 1,000 execution updates a second for 10 s into a visible execution blotter.

Prints the worst GUI-thread stall (goal: under 50 ms), the 99th percentile heartbeat gap, the
number of coalesced model flushes, the slowest merge and publish, paints and GC pauses. Offscreen.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication

from ui.coldstart import freeze_startup_objects
from ui.panels.trading_panels import EXEC_COLUMNS
from ui.stallprobe import measure_blotter_stall
from widgets.blotter import Blotter

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--keys", type=int, default=5000, help="distinct executions (then updates)")
    ap.add_argument(
        "--newest-first",
        action="store_true",
        help="sort by received time, newest first, as the execution panel does (every flush re-sorts)",
    )
    ap.add_argument("--no-freeze", action="store_true", help="leave startup objects to the collector")
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])
    blotter = Blotter(EXEC_COLUMNS, "id", "No executions", [("status", "Status"), ("broker", "Broker")])
    blotter.resize(1400, 700)
    blotter.show()
    model = blotter.model
    model.clear()
    if args.newest_first:
        blotter.view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    if not args.no_freeze:
        freeze_startup_objects()  # as `workstation` does once its window is up
    slow = {"merge": [0.0, 0.0], "publish": [0.0, 0.0]}

    def timed(name: str, fn: Any) -> Any:
        """Wrap one step of the model's timer flush: record its slowest wall and GUI CPU ms."""

        def run(*a: Any) -> Any:
            t, c = time.perf_counter(), time.thread_time()
            try:
                return fn(*a)
            finally:
                s = slow[name]
                s[0] = max(s[0], (time.perf_counter() - t) * 1000)
                s[1] = max(s[1], (time.thread_time() - c) * 1000)

        return run

    model._merge = timed("merge", model._merge)  # type: ignore[method-assign]
    model._apply_membership = timed("publish", model._apply_membership)  # type: ignore[method-assign]

    paint = [0.0, 0.0]
    paints: list[float] = []
    gcs: list[tuple[int, float]] = []
    gc_start = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_start[0] = time.thread_time()
        elif threading.current_thread() is threading.main_thread():
            gcs.append((info["generation"], (time.thread_time() - gc_start[0]) * 1000))

    gc.callbacks.append(on_gc)
    viewport = blotter.view.viewport()

    class PaintTimer(QObject):
        """Times each viewport paint (wall and GUI-thread CPU) without changing the view."""

        def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
            if ev.type() == QEvent.Type.Paint:
                t, c = time.perf_counter(), time.thread_time()
                viewport.removeEventFilter(self)
                QApplication.sendEvent(viewport, ev)
                viewport.installEventFilter(self)
                paint[0] = max(paint[0], (time.perf_counter() - t) * 1000)
                paint[1] = max(paint[1], (time.thread_time() - c) * 1000)
                paints.append((time.thread_time() - c) * 1000)
                return True
            return False

    timer = PaintTimer()
    viewport.installEventFilter(timer)

    def row(i: int) -> dict[str, object]:
        return {
            "id": i % args.keys,
            "received_at": NOW + timedelta(microseconds=i),
            "cl_ord_id": f"C{i % 300}",
            "account": f"A{i % 97:06d}",
            "symbol": "X",
            "side": "buy",
            "broker": ("SIMA", "SIMB")[i % 2],
            "exec_id": f"S{i}",
            "exec_type_name": "F Trade",
            "status": ("partially_filled", "filled")[i % 2],
            "last_qty": 1.0,
            "last_px": 10.0 + i % 7,
            "cum_qty": float(i),
            "leaves_qty": 0.0,
            "avg_px": 10.0,
            "currency": "USD",
            "mic": "XNYS",
        }

    load0 = Path("/proc/loadavg").read_text().split()[0]
    r = measure_blotter_stall(model, row, rate=args.rate, seconds=args.seconds)
    app.processEvents()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    order = "newest first (re-sorted every flush)" if args.newest_first else "arrival order"
    print(f"| blotter order | {order} |")
    print("| metric | value |")
    print("|---|---|")
    print(f"| updates sent / shown | {r.updates_sent:,} / {r.updates_shown:,} |")
    print(f"| wall time | {r.seconds:.2f} s |")
    print(f"| throughput | {r.updates_shown / r.seconds:,.0f} updates/s |")
    print(f"| rows in blotter | {model.rowCount():,} |")
    print(f"| model flushes (coalesced) | {r.flushes} |")
    m, p = slow["merge"], slow["publish"]
    print(f"| slowest merge (rows into the arrays): wall / GUI CPU | {m[0]:.1f} / {m[1]:.1f} ms |")
    print(f"| slowest publish (signals to the view, re-sort): wall / GUI CPU | {p[0]:.1f} / {p[1]:.1f} ms |")
    print(f"| slowest viewport paint: wall / GUI CPU | {paint[0]:.1f} / {paint[1]:.1f} ms |")
    paints.sort()
    med = paints[len(paints) // 2] if paints else 0.0
    print(
        f"| viewport paints: count / median / max GUI CPU | {len(paints)} / {med:.1f} / {paint[1]:.1f} ms |"
    )
    slow_gc = max((ms for _g, ms in gcs), default=0.0)
    print(
        f"| GUI-thread garbage collections: count / gen-2 / slowest | {len(gcs)} / {sum(g == 2 for g, _ in gcs)} / {slow_gc:.1f} ms |"
    )
    print(f"| 99th percentile heartbeat gap (5 ms timer) | {r.p99_gap_ms:.1f} ms |")
    print(f"| worst GUI stall (wall) | {r.worst_stall_ms:.1f} ms (goal < 50 ms) |")
    print(f"| GUI-thread CPU inside that stall | {r.worst_stall_cpu_ms:.1f} ms |")
    print(f"| most GUI-thread CPU inside any one gap | {r.max_gap_cpu_ms:.1f} ms |")
    print(f"| GUI-thread CPU over the run | {r.gui_cpu_s:.2f} s of {r.seconds:.2f} s |")
    print(f"| load average before / after | {load0} / {Path('/proc/loadavg').read_text().split()[0]} |")
    print(f"| peak RSS | {peak:,.0f} MiB |")


if __name__ == "__main__":
    main()
