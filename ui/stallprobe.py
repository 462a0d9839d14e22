"""Measure how long the GUI thread stalls while a blotter takes a stream of execution updates.

A producer thread publishes `rate` events a second on the engine bus (as the OMS will); the bridge
queues them and re-emits batches in the GUI thread; the handler turns each batch into one frame
and `upsert`s it. A 5 ms heartbeat QTimer records the longest gap between its ticks: that gap
minus 5 ms is the worst stall a user would feel.

On a loaded machine most of a long gap can be time the GUI thread spent waiting for a CPU, not
working. So each gap also records the GUI thread's own CPU time (`time.thread_time`): the CPU
stall is what the same work would cost on an idle core.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer

from engine.events import Event, EventBus
from ui.bridge import EngineBridge
from widgets.table_model import FrameTableModel

HEARTBEAT_MS = 5


@dataclass(frozen=True, kw_only=True)
class ExecutionRow(Event):
    """One execution report row as the blotter shows it (the OMS event will carry the same)."""

    row: dict[str, Any] = field(default_factory=dict)


@dataclass
class StallReport:
    updates_sent: int
    updates_shown: int
    seconds: float
    worst_stall_ms: float
    p99_gap_ms: float
    flushes: int
    worst_stall_cpu_ms: float = 0.0
    """GUI-thread CPU time spent inside the worst (wall-clock) gap."""
    max_gap_cpu_ms: float = 0.0
    """The most GUI-thread CPU time spent inside any one gap (the stall an idle core would show)."""
    gui_cpu_s: float = 0.0
    """GUI-thread CPU seconds over the whole run."""


def measure_blotter_stall(
    model: FrameTableModel,
    make_row: Any,
    rate: int = 1000,
    seconds: float = 10.0,
    bus: EventBus | None = None,
) -> StallReport:
    """Stream `rate` updates/s for `seconds` into `model` through the real bridge; report the stall."""
    bus = bus or EventBus()
    bridge = EngineBridge(bus)
    shown = [0]

    def on_batch(events: list[Event]) -> None:
        rows = [e.row for e in events if isinstance(e, ExecutionRow)]
        if rows:
            shown[0] += len(rows)
            model.upsert(pd.DataFrame(rows))

    bridge.batch.connect(on_batch)
    gaps: list[float] = []
    cpu: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]
    cpu_last = [time.thread_time_ns()]
    cpu0 = cpu_last[0]

    def beat() -> None:
        now = clock.nsecsElapsed()
        used = time.thread_time_ns()
        gaps.append((now - last[0]) / 1e6)
        cpu.append((used - cpu_last[0]) / 1e6)
        last[0] = now
        cpu_last[0] = used

    heart = QTimer()
    heart.setInterval(HEARTBEAT_MS)
    heart.timeout.connect(beat)
    heart.start()
    sent = [0]
    stop = threading.Event()

    def produce() -> None:
        start = time.perf_counter()
        i = 0
        while not stop.is_set():
            due = int((time.perf_counter() - start) * rate)
            if due >= rate * seconds:
                break
            while i < due:
                bus.publish(ExecutionRow(row=make_row(i)))
                i += 1
            time.sleep(0.001)
        sent[0] = i

    flushes0 = model.flushes
    thread = threading.Thread(target=produce, name="stall-producer", daemon=True)
    t0 = time.perf_counter()
    thread.start()
    loop = QEventLoop()
    hard_stop = t0 + seconds + 5.0

    def check() -> None:
        drained = shown[0] >= sent[0] and not model.pending
        if (not thread.is_alive() and drained) or time.perf_counter() > hard_stop:
            loop.quit()

    checker = QTimer()
    checker.setInterval(20)
    checker.timeout.connect(check)
    checker.start()
    loop.exec()  # the real event loop, as the desk runs it
    checker.stop()
    thread.join(timeout=1.0)
    elapsed = time.perf_counter() - t0
    heart.stop()
    bridge.close()
    stop.set()
    ordered = sorted(gaps)
    p99 = ordered[int(len(ordered) * 0.99)] if ordered else 0.0
    worst = max(range(len(gaps)), key=gaps.__getitem__) if gaps else -1
    return StallReport(
        updates_sent=sent[0],
        updates_shown=shown[0],
        seconds=elapsed,
        worst_stall_ms=max(0.0, (max(gaps) if gaps else 0.0) - HEARTBEAT_MS),
        p99_gap_ms=p99,
        flushes=model.flushes - flushes0,
        worst_stall_cpu_ms=cpu[worst] if worst >= 0 else 0.0,
        max_gap_cpu_ms=max(cpu) if cpu else 0.0,
        gui_cpu_s=(time.thread_time_ns() - cpu0) / 1e9,
    )
