"""Engine-to-Qt bridge and background jobs: cross-thread delivery in the GUI thread, unsubscribe on
close, progress, cancel and error reporting, and the first-run demo build."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from PySide6.QtCore import QThread

from engine.events import Event, EventBus
from engine.store.database import Database
from engine.store.migrate import upgrade
from ui.bridge import EngineBridge
from ui.startup import account_count, ensure_book
from ui.workers import Cancelled, Jobs


@dataclass(frozen=True, kw_only=True)
class Ping(Event):
    n: int


def test_events_from_worker_threads_arrive_batched_in_the_gui_thread(qtbot) -> None:  # type: ignore[no-untyped-def]
    bus = EventBus()
    bridge = EngineBridge(bus)
    got: list[int] = []
    threads: set[object] = set()

    def on_batch(events: list[Event]) -> None:
        threads.add(QThread.currentThread())
        got.extend(e.n for e in events if isinstance(e, Ping))

    bridge.batch.connect(on_batch)
    workers = [
        threading.Thread(target=lambda k=k: [bus.publish(Ping(n=k * 1000 + i)) for i in range(1000)])
        for k in range(4)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    qtbot.waitUntil(lambda: len(got) == 4000, timeout=5000)
    assert sorted(got) == sorted(k * 1000 + i for k in range(4) for i in range(1000))
    assert threads == {qtbot_gui_thread()}
    assert bus.subscriber_count() == 1
    bridge.close()
    assert bus.subscriber_count() == 0


def qtbot_gui_thread() -> object:
    from PySide6.QtWidgets import QApplication

    return QApplication.instance().thread()


def test_jobs_report_progress_results_errors_and_cancel(qtbot) -> None:  # type: ignore[no-untyped-def]
    jobs = Jobs()
    progress: list[int] = []
    results: list[object] = []
    errors: list[str] = []

    def work(token):  # type: ignore[no-untyped-def]
        for i in range(5):
            token.progress(i * 25)
        return "done"

    job = jobs.start("ok", work, results.append, errors.append)
    job.signals.progress.connect(lambda p, _t: progress.append(p))
    qtbot.waitUntil(lambda: results == ["done"], timeout=5000)

    from engine.errors import NotFound

    def fails(_token):  # type: ignore[no-untyped-def]
        raise NotFound("account A999 does not exist")

    jobs.start("bad", fails, results.append, errors.append)
    qtbot.waitUntil(lambda: errors == ["account A999 does not exist"], timeout=5000)

    gate = threading.Event()
    cancelled: list[bool] = []

    def long(token):  # type: ignore[no-untyped-def]
        gate.wait(5)
        token.progress(50)  # raises Cancelled once cancelled
        return "should not finish"

    job = jobs.start("long", long, results.append, errors.append)
    job.signals.cancelled.connect(lambda: cancelled.append(True))
    job.token.cancel()
    gate.set()
    qtbot.waitUntil(lambda: cancelled == [True], timeout=5000)
    assert results == ["done"] and not jobs.running
    assert isinstance(Cancelled(), Exception)


def test_first_run_builds_the_demo_book_only_in_the_embedded_default(qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    database = Database(f"sqlite:///{tmp_path / 'first.db'}")
    upgrade(database)
    jobs = Jobs()
    assert ensure_book(database, jobs, embedded_default=False).built is None  # a configured DB: left alone
    assert account_count(database) == 0
    first = ensure_book(database, jobs, embedded_default=True, accounts=3)
    assert first.built is not None and account_count(database) == 3
    assert "SIMULATED demo book" in first.message and "3 accounts" in first.message
    again = ensure_book(database, jobs, embedded_default=True, accounts=3)
    assert again.built is None and again.message == ""
    database.dispose()
