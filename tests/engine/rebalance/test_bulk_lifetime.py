"""A bulk run's worker processes end with it, even when it is killed; a run with no proposal fails.

The driver runs in its own process (a real process pool of two workers on the shared demo book).
When its first records arrive it prints its workers' pids and stops dead, as a hung or killed
desk would; the test SIGKILLs it and polls until every worker is gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from engine.store.database import Database
from workstation.cli.main import main

DRIVER = textwrap.dedent(
    """
    import multiprocessing, sys, threading
    from engine.rebalance.bulk import run_bulk
    from engine.rebalance.settings import RebalanceSettings
    from engine.store.database import Database

    def first_records(recs):
        pids = sorted(p.pid for p in multiprocessing.active_children())
        print(" ".join(map(str, pids)), flush=True)
        threading.Event().wait()  # stop dead here, workers alive, until killed

    run_bulk(Database(sys.argv[1]), RebalanceSettings(skip_in_band=False), None, executor="process",
             workers=2, batch_size=1, on_records=first_records, save=False)
    """
)


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for a reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def _poll(condition: Any, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_a_bulk_run_leaves_no_worker_behind(book_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, f"sqlite:///{book_path}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    workers: list[int] = []
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        workers = [int(x) for x in line.split()]
        assert len(workers) == 2, (line, proc.stderr.read() if proc.poll() is not None else "")  # type: ignore[union-attr]
        assert all(_alive(pid) for pid in workers)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        assert _poll(lambda: not any(_alive(pid) for pid in workers), timeout=30), [
            pid for pid in workers if _alive(pid)
        ]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in workers:  # never leave a stray solver on the shared machine, even on failure
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_a_run_where_every_account_is_infeasible_exits_non_zero(
    book: Database, loaded: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _u, accounts = loaded
    codes = ",".join(a.code for a in accounts[:3])
    # A cash raise far above any account's value under a 1% turnover cap cannot be met anywhere.
    args = ["--db", str(book.url), "rebalance", "--accounts", codes, "--executor", "inline", "--no-save"]
    rc = main([*args, "--mode", "cash-raise", "--cash-raise", "1e12", "--max-turnover", "0.01"])
    captured = capsys.readouterr()
    assert rc == 1
    assert "(0 ok, 3 infeasible, 0 failed)" in captured.out
    assert (
        captured.err.strip().splitlines()[-1]
        == "error: no proposal: all 3 accounts were infeasible or failed"
    )
    assert main([*args, "--no-skip"]) == 0  # the same accounts, solvable: success


WATCHER = textwrap.dedent(
    """
    import multiprocessing, os, sys, threading
    import engine.rebalance.bulk as bulk

    def worker(parent):
        bulk.sys = type("NotLinux", (), {"platform": "darwin"})  # take the parent-pid watch path
        bulk.die_with_parent(parent)
        threading.Event().wait()

    if __name__ == "__main__":
        p = multiprocessing.get_context("fork").Process(target=worker, args=(os.getpid(),))
        p.start()
        print(p.pid, flush=True)
        threading.Event().wait()
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_without_prctl_a_worker_watches_its_parent_and_ends_with_it(tmp_path: Path) -> None:
    script = tmp_path / "watcher.py"
    script.write_text(WATCHER, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    worker = 0
    try:
        worker = int(proc.stdout.readline())  # type: ignore[union-attr]
        assert _alive(worker)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert _poll(lambda: not _alive(worker), timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if worker and _alive(worker):
            os.kill(worker, signal.SIGKILL)
