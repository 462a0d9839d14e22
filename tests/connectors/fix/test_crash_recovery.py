"""kill -9 of the headless OMS process (between commit and send, and after send before the ack),
then a restart: every order ends as the broker has it, and none is sent twice."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.store.database import Database
from tests.conftest import migrated
from tests.connectors.fix.harness import PY, ROOT, Sim, all_orders, draft, fix_config, simulators
from tests.engine.oms.book import PassAll, make_book, make_oms

FLAGS = {
    "commit": ("--ignore-market-hours", "--fill-parts", "2"),
    "ack": ("--ignore-market-hours", "--fill-parts", "2", "--delay", "1.5"),
}


@pytest.fixture(scope="module")
def sims(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Sim]]:
    tmp = tmp_path_factory.mktemp("crash-sims")
    yield from simulators(tmp, FLAGS)


def headless(
    db_url: str, config: Path, timeout: float, crash_at: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    entry = ["tests.connectors.fix.crash_point", crash_at] if crash_at else ["workstation.cli.main"]
    cmd = [PY, "-m", *entry, "--db", db_url, "oms", "--headless", "--fix-config", str(config),
           "--timeout", str(timeout), "--outside-hours"]  # fmt: skip
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def prepare(tmp: Path) -> tuple[str, list[int]]:
    url = f"sqlite:///{tmp / 'book.db'}"
    db = migrated(url)
    make_book(db)
    ids = make_oms(db, checker=PassAll()).create([draft("ACC1", qty=200), draft("ACC2", "VOD.L", qty=300)])
    db.dispose()
    return url, ids


def check_recovered(url: str, sim: Sim) -> None:
    db = Database(url)
    try:
        orders = all_orders(db)
    finally:
        db.dispose()
    assert [(o.status, o.cum_qty, o.leaves_qty) for o in orders] == [("filled", 200, 0), ("filled", 300, 0)]
    assert all(o.sent_at is not None for o in orders)
    news = [e["cl_ord_id"] for e in sim.events() if e["event"] == "new"]
    assert sorted(news) == sorted(o.cl_ord_id for o in orders)  # each order reached the broker once
    assert not [e for e in sim.events() if e["event"] == "duplicate_rejected"]
    for o in orders:
        broker_fills = sum(
            int(e["qty"]) for e in sim.events() if e["event"] == "fill" and e["cl_ord_id"] == o.cl_ord_id
        )
        assert broker_fills == o.cum_qty


def test_kill_between_commit_and_send(tmp_path: Path, sims: dict[str, Sim]) -> None:
    sim = sims["commit"].ready()
    url, _ = prepare(tmp_path)
    config = fix_config(tmp_path, sim.port)
    crashed = headless(url, config, 20, crash_at="after_commit")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    db = Database(url)
    assert [(o.status, o.sent_at) for o in all_orders(db)] == [("pending_new", None), ("pending_new", None)]
    db.dispose()
    assert not [e for e in sim.events() if e["event"] == "new"]  # the broker never saw them
    done = headless(url, config, 30)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len([e for e in sim.events() if e["event"] == "status_unknown"]) == 2
    check_recovered(url, sim)


def test_kill_after_send_before_ack(tmp_path: Path, sims: dict[str, Sim]) -> None:
    sim = sims["ack"].ready()  # acknowledges 1.5 s after an order arrives
    url, _ = prepare(tmp_path)
    config = fix_config(tmp_path, sim.port)
    crashed = headless(url, config, 20, crash_at="after_send")
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    db = Database(url)
    assert {o.status for o in all_orders(db)} == {"pending_new"}
    db.dispose()
    done = headless(url, config, 30)
    assert done.returncode == 0, done.stdout + done.stderr
    check_recovered(url, sim)
