"""Background jobs: anything slow (database loads, solves, reports) runs on a QThreadPool.

A job is a plain function `fn(token)`; `token.progress(pct, text)` reports, `token.cancelled`
tells it to stop at its next checkpoint (raise `Cancelled`). Results come back to the GUI thread
through queued signals of a QObject created there.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from engine.errors import WorkstationError

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """Raised inside a job when its token was cancelled."""


class CancelToken:
    """Shared between the GUI (cancel) and the job (check, progress)."""

    def __init__(self, signals: JobSignals) -> None:
        self._event = threading.Event()
        self._signals = signals

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()

    def progress(self, percent: int, text: str = "") -> None:
        self.check()
        self._signals.progress.emit(int(percent), text)

    def report(self, percent: int, text: str = "") -> None:
        """Progress without the cancel check: for callbacks of a run that stops on its own."""
        self._signals.progress.emit(int(percent), text)


class JobSignals(QObject):
    progress = Signal(int, str)
    done = Signal(object)
    failed = Signal(str)
    cancelled = Signal()


class Job(QRunnable):
    """One function on the pool; emits done(result), failed(message) or cancelled()."""

    def __init__(self, name: str, fn: Callable[[CancelToken], Any]) -> None:
        super().__init__()
        self.name = name
        self.fn = fn
        self.signals = JobSignals()
        self.token = CancelToken(self.signals)
        self.setAutoDelete(False)

    def run(self) -> None:
        try:
            result = self.fn(self.token)
        except Cancelled:
            self.signals.cancelled.emit()
        except WorkstationError as exc:
            self.signals.failed.emit(str(exc))
        except Exception as exc:  # a bug: log it, show one line, keep the desk running
            log.error("job %s failed:\n%s", self.name, traceback.format_exc())
            self.signals.failed.emit(f"{type(exc).__name__}: {exc}")
        else:
            self.signals.done.emit(result)


def _to_live_widgets(fn: Callable[[Any], None]) -> Callable[[Any], None]:
    """A job's result for a window closed while it ran has nowhere to go: drop it instead of
    raising inside Qt's event loop ("Internal C++ object ... already deleted")."""

    def deliver(value: Any) -> None:
        try:
            fn(value)
        except RuntimeError as exc:
            if "already deleted" not in str(exc):
                raise

    return deliver


class Jobs(QObject):
    """Starts jobs and keeps them alive until they report; `busy` lists running job names."""

    started = Signal(object)
    ended = Signal(object)

    def __init__(self, pool: QThreadPool | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = pool or QThreadPool.globalInstance()
        self.running: dict[int, Job] = {}

    def start(
        self,
        name: str,
        fn: Callable[[CancelToken], Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> Job:
        job = Job(name, fn)
        key = id(job)
        self.running[key] = job

        def finish(*_: object) -> None:
            self.running.pop(key, None)
            self.ended.emit(job)

        if on_done is not None:
            job.signals.done.connect(_to_live_widgets(on_done))
        if on_error is not None:
            job.signals.failed.connect(_to_live_widgets(on_error))
        for sig in (job.signals.done, job.signals.failed, job.signals.cancelled):
            sig.connect(finish)
        self.started.emit(job)
        self.pool.start(job)
        return job

    @property
    def busy(self) -> list[str]:
        return [j.name for j in self.running.values()]

    def wait(self, msecs: int = 30_000) -> bool:
        return self.pool.waitForDone(msecs)
