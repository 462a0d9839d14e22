"""Routing ownership: one lease per FIX session, held in the database with a visible owner."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from engine.shared.errors import LeaseHeld
from engine.shared.lease import RoutingLease, holder, try_acquire
from engine.shared.tables import RoutingLease as LeaseRow
from engine.store.database import Database
from tests.connectors.fix.harness import PY, ROOT, Sim, draft, fix_config
from tests.engine.oms.book import PassAll, make_book, make_oms

KEY = "FIX.4.4:WS->SIM"


def test_second_desk_is_refused_until_the_lease_expires_or_is_released(database: Database) -> None:
    a = RoutingLease(database, [KEY], owner="alice@desk1", ttl=30)
    a.acquire()
    b = RoutingLease(database, [KEY], owner="bob@desk2", ttl=30)
    with pytest.raises(LeaseHeld, match="routed by alice@desk1"):
        b.acquire()
    info = holder(database, KEY)
    assert info is not None and info.owner == "alice@desk1" and info.pid == os.getpid()
    assert try_acquire(database, KEY, "alice@desk1", 30)  # renewing our own lease
    a.release()  # a clean stop hands it over at once
    b.acquire()
    assert holder(database, KEY).owner == "bob@desk2"  # type: ignore[union-attr]
    assert not try_acquire(database, KEY, "carol@desk3", 30)
    b._stop.set()  # bob dies without releasing: nobody renews
    assert b._thread is not None
    b._thread.join(timeout=30)  # wait for his heartbeat to stop, not for a fixed time
    assert not b._thread.is_alive()
    assert try_acquire(database, "other-session", "carol@desk3", 0.2)
    assert not try_acquire(database, KEY, "carol@desk3", 30)
    with database.transaction() as s:  # bob's ttl passes
        s.execute(update(LeaseRow).values(expires_at=datetime(2000, 1, 1, tzinfo=UTC)))
    assert try_acquire(database, KEY, "carol@desk3", 30)
    assert holder(database, KEY).owner == "carol@desk3"  # type: ignore[union-attr]


def _desk(url: str, tmp: Path, config: Path, name: str, *extra: str) -> subprocess.Popen[str]:
    cmd = [PY, "-m", "tests.shared.desk", "--db", url, "--config", str(config), "--fix-dir", str(tmp / "fix"),
           "--name", name, "--ttl", "3", *extra]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def _next(p: subprocess.Popen[str]) -> dict[str, Any]:
    assert p.stdout is not None
    line = p.stdout.readline()
    if not line:
        raise AssertionError(f"desk process ended: {p.stderr.read() if p.stderr else ''}")
    return json.loads(line)


@pytest.mark.parametrize("database", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_kill_the_routing_desk_and_the_standby_takes_over_without_sending_twice(
    database: Database, tmp_path: Path
) -> None:
    sim = Sim(tmp_path, "--ignore-market-hours", "--fill-parts", "2")
    make_book(database)
    ids = make_oms(database, checker=PassAll()).create(
        [draft("ACC1", qty=100 + i) for i in range(3)]
        + [draft("ACC2", "VOD.L", qty=200 + i) for i in range(2)]
    )
    assert len(ids) == 5
    url = database.url.render_as_string(hide_password=False)
    config = fix_config(tmp_path, sim.ready().port)
    a = _desk(url, tmp_path, config, "alice@desk1", "--route", "3", "--stuck", "2")
    b = None
    try:
        assert _next(a) == {"event": "leased", "owner": "alice@desk1"}
        assert _next(a)["event"] == "logged_on"
        assert _next(a)["event"] == "routed"
        b = _desk(url, tmp_path, config, "bob@desk2", "--wait", "60")
        refused = _next(b)
        assert refused["event"] == "refused" and refused["owner"] == "alice@desk1"
        assert "routed by alice@desk1" in refused["message"]
        assert _next(a)["event"] == "stuck"  # two orders committed as pending_new, never sent
        os.kill(a.pid, signal.SIGKILL)
        a.wait(10)
        assert _next(b) == {"event": "leased", "owner": "bob@desk2"}
        assert _next(b)["event"] == "logged_on"
        done = _next(b)
        b.wait(30)
    finally:
        for p in (a, b):
            if p is not None and p.poll() is None:
                p.kill()
        sim.stop()
    assert done["all_final"], done
    assert set(done["statuses"].values()) == {"filled"}
    news = [e["cl_ord_id"] for e in sim.events() if e["event"] == "new"]
    assert sorted(news) == sorted(done["statuses"])  # every order reached the broker exactly once
    assert not [e for e in sim.events() if e["event"] == "duplicate_rejected"]
    assert done["duplicates"] == 0
