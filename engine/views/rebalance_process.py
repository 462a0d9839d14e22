"""A desk's bulk rebalance in a child process of its own, reporting back over a pipe.

Why a process: run in a thread of the desk, the run kept every account it loaded (1.35M lots on
the 10,000-account book) and every proposal's record in the desk's memory (3.25 GB), and its
loads, pickles and writes took the GIL from the GUI thread. In a spawned child the desk holds
nothing of it; it receives the batch id, progress lines and the summary. Cancel asks the child
to stop, and ends the child's process group (the child and its solver workers) if it has not
stopped within `grace` seconds, so a cancel is honoured within a second whatever is running;
proposals already written stay (each batch is one transaction: a batch cut off is not written).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from engine.errors import WorkstationError
from engine.rebalance.run_options import RunOptions
from engine.store.database import Database
from engine.views.rebalance import Selection, run

CHILD_NICE = 10
"""The child, and the solver workers it starts (they inherit it), run this much nicer than the
desk: on a 2-core desk two solver processes kept both cores busy and the GUI thread waited for
one. In the 10,000-account run every GUI stall over 100 ms held at most 16-18 ms of the GUI
thread's own CPU, and no thread of the desk's process held the GIL then: it was waiting for a core."""
HEARTBEAT_S = 0.5
"""While the child loads the book (before its first solved batch) it says so this often."""


class _ChildToken:
    """The child's side of the pipe: progress messages, the cancel flag, a heartbeat while loading."""

    def __init__(self, conn: Any, stop: Any) -> None:
        self.conn = conn
        self.stop = stop
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.solving = threading.Event()

    @property
    def cancelled(self) -> bool:
        return bool(self.stop.is_set())

    def send(self, *msg: object) -> None:
        with self.lock:
            self.conn.send(msg)

    def report(self, percent: int, text: str, batch_id: str | None = None) -> None:
        self.solving.set()
        self.send("progress", int(percent), text, batch_id)

    def heartbeat(self) -> None:
        while not self.solving.wait(HEARTBEAT_S):
            s = time.monotonic() - self.started
            self.send("progress", 0, f"Reading accounts, lots and prices… {s:.0f} s", None)


def _child(url: str, sel: Selection, options: RunOptions, user: str, conn: Any, stop: Any) -> None:
    """The child process: run the rebalance and send ('done', summary) or ('error', text)."""
    if hasattr(os, "setsid"):
        os.setsid()  # its own process group: a hard cancel ends it and its solver workers together
    nice = _yield_cpu()
    token = _ChildToken(conn, stop)
    token.send("progress", 0, "Reading accounts, lots and prices…", None)
    threading.Thread(target=token.heartbeat, daemon=True).start()
    database = Database(url)
    try:
        summary = run(database, sel, options, user, token)
    except WorkstationError as exc:
        token.send("error", str(exc))
    except Exception as exc:  # a bug: one line for the desk, the child's stderr has the rest
        token.send("error", f"{type(exc).__name__}: {exc}")
        raise
    else:
        token.send("done", summary | {"process_peak_mib": _peak_mib(), "process_nice": nice})
    finally:
        token.solving.set()
        database.dispose()


def _yield_cpu() -> int | None:
    """Lower this process's CPU priority by CHILD_NICE (POSIX); its niceness after, or None."""
    if not hasattr(os, "nice"):
        return None
    try:
        return os.nice(CHILD_NICE)
    except OSError:  # already at the floor, or not allowed: run as is
        return os.nice(0)


def _peak_mib() -> dict[str, float]:
    """Peak RSS of this child and of its largest solver worker, MiB (Unix; empty elsewhere)."""
    try:
        import resource
    except ImportError:
        return {}
    own = 0.0  # VmHWM: ru_maxrss would keep the desk's high-water mark across the spawn's exec
    try:
        with open("/proc/self/status") as f:
            own = next((int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:")), 0.0)
    except OSError:
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"rebalance_process": round(own), "largest_solver_worker": round(workers)}


def url_for_child(database: Database) -> str | None:
    """The URL a child process can open (password included), or None for an in-memory book."""
    url = database.engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return None
    return url.render_as_string(hide_password=False)


def _end_group(proc: Any) -> None:
    """End the child and its solver workers (its process group), then reap the child."""
    try:
        if hasattr(os, "killpg") and os.getpgid(proc.pid) == proc.pid:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    proc.join(5)


def run_in_child(
    database: Database,
    sel: Selection,
    options: RunOptions,
    user: str,
    report: Callable[[int, str, str | None], None],
    cancelled: Callable[[], bool],
    grace: float = 0.5,
    poll: float = 0.05,
) -> dict[str, Any]:
    """Run the desk's rebalance with `options` (one typed object: the child builds the settings
    from it as the CLI does) in a spawned child; `report(pct, text, batch_id)` on every message.

    Returns the run's summary; a cancelled run returns {'batch_id', 'cancelled': True, ...} (the
    proposals it wrote are counted by the caller from the store). An in-memory book runs here."""
    url = url_for_child(database)
    if url is None:
        return run(database, sel, options, user, _LocalToken(report, cancelled))
    ctx = mp.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    stop = ctx.Event()
    proc = ctx.Process(target=_child, args=(url, sel, options, user, sender, stop), name="ws-rebalance")
    proc.start()
    sender.close()
    batch: str | None = None
    asked: float | None = None
    try:
        while True:
            if asked is None and cancelled():
                stop.set()
                asked = time.monotonic()
            if asked is not None and time.monotonic() - asked > grace:
                _end_group(proc)
                return {"batch_id": batch, "cancelled": True, "ended": True}
            try:
                ready = receiver.poll(poll)
                msg = receiver.recv() if ready else None
            except (EOFError, OSError):
                msg = ("gone",)
            if msg is None:
                continue
            if msg[0] == "progress":
                batch = msg[3] or batch
                report(int(msg[1]), str(msg[2]), batch)
            elif msg[0] == "done":
                summary: dict[str, Any] = msg[1]
                return summary
            elif msg[0] == "error":
                raise WorkstationError(str(msg[1]))
            else:
                proc.join(5)
                if asked is not None:
                    return {"batch_id": batch, "cancelled": True, "ended": True}
                raise WorkstationError(
                    f"the rebalance process ended unexpectedly (exit code {proc.exitcode})"
                )
    finally:
        receiver.close()
        if proc.is_alive():
            proc.join(grace)
            if proc.is_alive():
                _end_group(proc)


class _LocalToken:
    """The same reporter, in this process (an in-memory book cannot be opened by a child)."""

    def __init__(self, report: Callable[[int, str, str | None], None], cancelled: Callable[[], bool]) -> None:
        self._report = report
        self._cancelled = cancelled

    @property
    def cancelled(self) -> bool:
        return self._cancelled()

    def report(self, percent: int, text: str, batch_id: str | None = None) -> None:
        self._report(percent, text, batch_id)
