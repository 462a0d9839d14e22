"""The status bar's progress and cancel stay on the long job that reports progress (a rebalance):
reloads started after it never take the bar, so cancel stops the rebalance, not a reload."""

from __future__ import annotations

from ui.main_window import JobProgress
from ui.workers import Job


def _job(name: str) -> Job:
    return Job(name, lambda _t: None)  # never started: its signals are emitted by hand


def test_cancel_follows_the_job_reporting_progress(qtbot) -> None:  # type: ignore[no-untyped-def]
    bar = JobProgress()
    qtbot.addWidget(bar)
    rebalance, reload_a, reload_b = _job("Rebalance"), _job("Loading proposals"), _job("Updating proposals")
    bar.track(rebalance)
    rebalance.signals.progress.emit(5, "Rebalancing: 50/1000 accounts")
    bar.track(reload_a)  # ten seconds later the shared desk reloads, then a blotter re-read
    bar.track(reload_b)
    assert bar.job is rebalance and bar.label.text() == "Rebalancing: 50/1000 accounts"
    rebalance.signals.progress.emit(40, "Rebalancing: 400/1000 accounts")
    assert bar.bar.value() == 40
    bar.ended(reload_a, remaining=2)
    assert bar.job is rebalance and not bar.isHidden()
    bar.cancel.click()
    assert rebalance.token.cancelled and not reload_b.token.cancelled
    bar.ended(rebalance, remaining=1)
    assert bar.isHidden() and bar.job is None


def test_short_jobs_take_turns_until_one_reports(qtbot) -> None:  # type: ignore[no-untyped-def]
    bar = JobProgress()
    qtbot.addWidget(bar)
    first, second = _job("Loading the book"), _job("Release 3 proposal(s) to trading")
    bar.track(first)
    bar.track(second)  # no progress from the first: the newest shows
    assert bar.job is second
    first.signals.progress.emit(50, "valuing")  # a job that reports claims the bar
    assert bar.job is first and bar.bar.value() == 50
