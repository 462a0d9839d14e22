"""The live feed between workstations on PostgreSQL: another process's approval reaches this
one's listener and its refresh shows the new state; a dropped listener connection catches up
every change committed while it was away; `events watch --json` prints the contract lines."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import subprocess
import threading
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.compliance import approvals, killswitch
from engine.compliance.tables import ApprovalCase
from engine.ports import OrderIntent
from engine.shared.feed import Change, changes_after, last_seq
from engine.shared.listener import ChangeListener
from engine.store.database import Database
from tests.engine.compliance.minibook import build_minibook
from tests.shared import workers

ROOT = Path(__file__).resolve().parents[2]
SEEN_WITHIN = 5.0  # seconds: the stated bound for a change to reach another desk (p99 measured ~ms)
pg_only = pytest.mark.parametrize(
    "database", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


class Collector:
    """What a workstation's listener thread hands over, with arrival times."""

    def __init__(self) -> None:
        self.changes: list[Change] = []
        self.arrived: dict[int, float] = {}
        self.states: list[tuple[bool, str]] = []
        self.cv = threading.Condition()
        self.during_offline: list[object] = []

    def on_changes(self, batch: Sequence[Change]) -> None:
        with self.cv:
            now = time.time()
            for c in batch:
                self.changes.append(c)
                self.arrived[c.seq] = now
            self.cv.notify_all()

    def on_state(self, online: bool, detail: str) -> None:
        self.states.append((online, detail))
        if not online:
            for hook in self.during_offline:
                hook()  # type: ignore[operator]

    def wait_for(self, pred, timeout: float = SEEN_WITHIN) -> bool:  # type: ignore[no-untyped-def]
        with self.cv:
            return self.cv.wait_for(lambda: pred(self.changes), timeout)


def _url(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


def _pending_case(db: Database, ref: str) -> int:
    with db.transaction() as s:
        intents = [OrderIntent("U1", "AAA", "buy", Decimal(10))]
        return approvals.submit(s, "tr1", "order", ref, intents, created_by="pm1").id


@pg_only
def test_an_approval_in_another_process_reaches_this_listener_and_the_refresh_shows_it(
    database: Database,
) -> None:
    build_minibook(database)
    case_id = _pending_case(database, "LIVE1")
    got = Collector()
    listener = ChangeListener(database.url, got.on_changes, got.on_state).start()
    try:
        assert got.wait_for(lambda _: listener.online, 10) or listener.online
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        p = ctx.Process(target=workers.approve_one, args=(_url(database), "co2", case_id, out))
        p.start()
        committed = out.get(timeout=60)
        p.join(30)

        def approved(cs: list[Change]) -> bool:
            return any(c.type == "approval" and c.state == "approved" for c in cs)

        assert got.wait_for(approved), f"no approval within {SEEN_WITHIN} s: {got.changes}"
        change = next(c for c in got.changes if c.type == "approval" and c.state == "approved")
        assert change.ids == {"approval": case_id, "entity": "order", "entity_id": "LIVE1"}
        assert change.who == "co2"
        print(f"commit -> listener: {1000 * (got.arrived[change.seq] - committed):.1f} ms")
        with database.session() as s:  # the refresh: only the changed case is read again
            case = s.get(ApprovalCase, change.ids["approval"])
            assert case is not None and case.state == "approved"
    finally:
        listener.stop()


@pg_only
def test_listener_catches_up_every_change_committed_while_its_connection_was_dropped(
    database: Database,
) -> None:
    build_minibook(database)
    got = Collector()
    committed_offline: list[int] = []

    def commit_while_offline() -> None:
        """Runs while the listener knows it is offline (before it reconnects)."""
        if committed_offline:
            return
        for i in range(3):
            with database.transaction() as s:
                k = killswitch.engage(s, "co1", "account", "U2", f"gap {i}")
            with database.transaction() as s:
                killswitch.release(s, "co1", k.id, f"gap {i} over")
            committed_offline.append(k.id)
        _pending_case(database, "GAP")

    got.during_offline.append(commit_while_offline)
    listener = ChangeListener(database.url, got.on_changes, got.on_state, wait=0.1).start()
    try:
        deadline = time.time() + 10
        while not listener.online and time.time() < deadline:
            time.sleep(0.05)
        with database.transaction() as s:
            before = killswitch.engage(s, "co1", "firm", None, "before the drop")
        assert got.wait_for(lambda cs: any(c.ids.get("kill_switch") == before.id for c in cs))
        with database.engine.connect() as conn:
            start = last_seq(conn)
            assert conn.execute(
                text("SELECT pg_terminate_backend(:pid)"), {"pid": listener.backend_pid}
            ).scalar_one()
        # The hook committed 6 kill-switch changes and a case (3 changes) while the listener was down.
        assert got.wait_for(lambda cs: len(committed_offline) == 3 and cs[-1].seq >= start + 9, 20)
        with database.engine.connect() as conn:
            expected = [c.seq for c in changes_after(conn, start)]
        assert len(expected) == 9
        assert [c.seq for c in got.changes if c.seq > start] == expected  # all, in order, once
        assert [s for s, _ in got.states] == [True, False, True]
        assert "connection lost" in got.states[1][1]
        assert listener.reconnects >= 1
    finally:
        listener.stop()


@pg_only
def test_events_watch_json_replays_since_a_sequence_then_follows(database: Database, tmp_path: Path) -> None:
    build_minibook(database)
    with database.engine.connect() as conn:
        since = last_seq(conn)
    with database.transaction() as s:
        k = killswitch.engage(s, "co1", "desk", "D1", "before watch")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [str(ROOT / ".venv/bin/python"), "-m", "workstation.cli.main", "--db", _url(database),
           "events", "watch", "--json", "--since", str(since), "--timeout", "8"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert proc.stdout is not None
    first = json.loads(proc.stdout.readline())  # replayed
    with database.transaction() as s:
        killswitch.release(s, "co2", k.id, "after watch started")
    second = json.loads(proc.stdout.readline())  # followed live
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert set(first) == {"seq", "type", "action", "ids", "state", "who", "when"}
    assert (first["seq"], first["type"], first["action"], first["who"]) == (
        since + 1,
        "kill_switch",
        "engaged",
        "co1",
    )
    assert first["ids"] == {"kill_switch": k.id, "scope": "desk", "scope_key": "D1"}
    assert (second["seq"], second["state"], second["who"]) == (since + 2, "released", "co2")
    assert out.strip() == ""  # nothing else changed
    assert "online" in err
