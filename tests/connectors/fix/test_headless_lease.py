"""`oms --headless` takes the routing lease: a second OMS on the same session is refused naming the
owner, and takes over after the owner's lease expires without sending any ClOrdID twice. And a
stopped gateway leaves no QuickFIX session behind, so the next initiator of the process logs on.
"""

from __future__ import annotations

import gc
import json
import os
import queue
import signal
import subprocess
import time
import weakref
from pathlib import Path

import pytest
import quickfix as fix
from sqlalchemy import select, update

from connectors.fix.gateway import FixGateway
from engine.oms.errors import RouteError
from engine.oms.tables import Order
from engine.shared.lease import holder
from engine.shared.tables import RoutingLease as LeaseRow
from engine.store.base import utcnow
from engine.store.database import Database
from tests.conftest import migrated
from tests.connectors.fix.harness import PY, ROOT, Sim, draft, fix_config, free_port
from tests.engine.oms.book import PassAll, make_book, make_oms

KEY = "FIX.4.4:WS->SIM"


def test_a_stopped_leased_gateway_frees_its_sessions_at_once(tmp_path: Path) -> None:
    """The cause of the old failure: the gateway lived on in a cycle (gateway -> lease -> bound
    method), its stopped Session stayed in QuickFIX's registry, the next initiator reused it."""
    db = migrated(f"sqlite:///{tmp_path / 'book.db'}")
    config = fix_config(tmp_path, free_port())  # nobody listens: no logon needed here
    sid = fix.SessionID("FIX.4.4", "WS", "SIM")
    gc.disable()  # only reference counting may free it, as in a run where the collector is late
    try:
        gw = FixGateway(config, tmp_path / "fix", queue.SimpleQueue(), lease_db=db, lease_owner="alice@desk1")
        gw.start()
        assert fix.Session.lookupSession(sid) is not None
        assert holder(db, KEY).owner == "alice@desk1"  # type: ignore[union-attr]
        second = FixGateway(config, tmp_path / "fix", queue.SimpleQueue())
        with pytest.raises(RouteError, match="still running in this process"):
            second.start()  # plainly refused, instead of silently reusing the running session
        second.stop()
        gw.stop(force=True)
        assert fix.Session.lookupSession(sid) is None  # gone from the registry on stop()
        assert holder(db, KEY).expires_at <= utcnow()  # type: ignore[union-attr]  # released on stop
        ref = weakref.ref(gw)
        del gw
        assert ref() is None  # freed by reference counting: no cycle left for the collector
    finally:
        gc.enable()
        db.dispose()


def _headless(url: str, config: Path, *flags: str, hang: bool = False) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    entry = ["tests.connectors.fix.crash_point", "hang:after_commit"] if hang else ["workstation.cli.main"]
    cmd = [PY, "-m", *entry, "--db", url, "oms", "--headless", "--fix-config", str(config),
           "--outside-hours", "--no-blocks", "--lease-ttl", "3", *flags]  # fmt: skip
    return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _statuses(db: Database) -> dict[str, str]:
    with db.session() as s:
        return dict(s.execute(select(Order.cl_ord_id, Order.status).order_by(Order.id)).all())


@pytest.mark.parametrize("database", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_second_headless_oms_is_refused_then_takes_over_after_expiry_without_sending_twice(
    database: Database, tmp_path: Path
) -> None:
    sim = Sim(tmp_path, "--ignore-market-hours", "--fill-parts", "2")
    make_book(database)
    ids = make_oms(database, checker=PassAll()).create(
        [draft("ACC1", qty=100 + i) for i in range(3)] + [draft("ACC2", "VOD.L", qty=200)]
    )
    assert len(ids) == 4
    url = database.url.render_as_string(hide_password=False)
    config = fix_config(tmp_path, sim.ready().port)
    first = _headless(url, config, "--timeout", "120", hang=True)
    try:
        # The first OMS takes the lease, logs on, commits the route, and stops dead before sending.
        deadline = time.monotonic() + 60
        while set(_statuses(database).values()) != {"pending_new"}:
            assert first.poll() is None, first.stderr.read() if first.stderr else ""
            assert time.monotonic() < deadline, _statuses(database)
            time.sleep(0.2)
        owner = holder(database, KEY)
        assert owner is not None and owner.owner.startswith("oms:") and f"pid {first.pid}/" in owner.owner

        second = _headless(url, config, "--timeout", "30")
        _, err = second.communicate(timeout=120)
        assert second.returncode == 2, err
        assert f"FIX session {KEY} is routed by {owner.owner}" in err
        assert not [e for e in sim.events() if e["event"] == "new"]  # nobody has sent anything

        # The first dies. It ran on "another machine" (so this host cannot see that its process is
        # gone, and the standby must wait for the lease to expire): freeze it, relabel its lease
        # row, then kill -9 it.
        os.kill(first.pid, signal.SIGSTOP)
        with database.transaction() as s:
            s.execute(update(LeaseRow).where(LeaseRow.session_key == KEY).values(host="desk-elsewhere"))
        expired_at = holder(database, KEY).expires_at  # type: ignore[union-attr]
        os.kill(first.pid, signal.SIGKILL)
        first.wait(10)

        standby = _headless(url, config, "--timeout", "60", "--lease-wait", "60", "--json")
        out, err = standby.communicate(timeout=180)
        assert standby.returncode == 0, err
        summary = json.loads(out)
        assert summary["all_final"] and summary["sessions"][0]["logged_on"], summary
    finally:
        if first.poll() is None:
            first.kill()
        sim.stop()
    with database.session() as s:
        row = s.get(LeaseRow, KEY)
        assert row is not None and row.owner.startswith("oms:") and row.pid == standby.pid
        assert row.acquired_at >= expired_at  # taken over only once the dead owner's lease expired
    statuses = _statuses(database)
    assert set(statuses.values()) == {"filled"}
    news = [e["cl_ord_id"] for e in sim.events() if e["event"] == "new"]
    assert sorted(news) == sorted(statuses)  # every ClOrdID reached the broker exactly once
    assert not [e for e in sim.events() if e["event"] == "duplicate_rejected"]
