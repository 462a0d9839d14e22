"""Routing leases: only one workstation routes to a FIX session at a time.

A lease row per session names its owner (user@host pid), and is taken with one conditional
INSERT ... ON CONFLICT DO UPDATE ... WHERE the lease expired or is already ours, so two desks
racing for it cannot both win. The owner renews it (heartbeat) well before it expires; a desk
that dies stops renewing, and after `ttl` another desk may take it over (and reconcile with the
broker on logon). Times are the workstations' UTC clocks: keep desks on NTP, and keep `ttl`
far above any clock skew.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite

from engine.shared.errors import LeaseHeld
from engine.shared.tables import RoutingLease as LeaseRow
from engine.store.base import utcnow
from engine.store.database import Database

_T = cast(Table, LeaseRow.__table__)


def owner_id(username: str = "") -> str:
    """A unique, readable lease owner: user@host pid/random."""
    who = f"{username}@" if username else ""
    return f"{who}{socket.gethostname()} pid {os.getpid()}/{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class LeaseInfo:
    session_key: str
    owner: str
    host: str
    pid: int
    heartbeat_at: datetime
    expires_at: datetime


def _insert(dialect: str) -> Any:
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_T)


def _dead_local_owner(database: Database, session_key: str) -> str | None:
    """The lease's owner if it is a process of this host that no longer runs (killed or crashed),
    so a restart here need not wait out the lease. Desks must have distinct host names."""
    h = holder(database, session_key)
    if h is None or h.host != socket.gethostname() or h.pid == os.getpid():
        return None
    try:
        os.kill(h.pid, 0)
    except ProcessLookupError:
        return h.owner
    except PermissionError:  # alive, another user's
        return None
    return None


def try_acquire(database: Database, session_key: str, owner: str, ttl: float) -> bool:
    """Take or renew the lease if it is free, expired, ours, or held by a dead process of this
    host; True if we hold it now."""
    dead = _dead_local_owner(database, session_key)
    now = utcnow()
    values = {
        "session_key": session_key,
        "owner": owner,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "acquired_at": now,
        "heartbeat_at": now,
        "expires_at": now + timedelta(seconds=ttl),
    }
    ins = _insert(database.dialect).values(**values)
    stmt = ins.on_conflict_do_update(
        index_elements=[_T.c.session_key],
        set_={
            "owner": ins.excluded.owner,
            "host": ins.excluded.host,
            "pid": ins.excluded.pid,
            "heartbeat_at": ins.excluded.heartbeat_at,
            "expires_at": ins.excluded.expires_at,
            "acquired_at": ins.excluded.acquired_at,
        },
        where=(_T.c.expires_at < now) | (_T.c.owner == owner) | (_T.c.owner == (dead or owner)),
    ).returning(_T.c.owner)
    with database.transaction() as s:
        got = s.execute(stmt).scalar_one_or_none()
    return got == owner


def holder(database: Database, session_key: str) -> LeaseInfo | None:
    """Who holds (or last held) the lease on a session."""
    with database.session() as s:
        r = s.execute(select(_T).where(_T.c.session_key == session_key)).mappings().first()
    if r is None:
        return None
    return LeaseInfo(r["session_key"], r["owner"], r["host"], r["pid"], r["heartbeat_at"], r["expires_at"])


def release(database: Database, session_key: str, owner: str) -> None:
    """Give the lease up now (clean shutdown), so another desk need not wait for expiry."""
    with database.transaction() as s:
        s.execute(
            _T.update()
            .where(_T.c.session_key == session_key, _T.c.owner == owner)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


class RoutingLease:
    """Holds the leases of a set of FIX sessions and renews them on a heartbeat thread.

    `acquire()` raises LeaseHeld naming the current owner; `acquire(wait=S)` keeps trying for S
    seconds (a standby desk). If a renewal fails or finds the lease taken, `held` turns False
    and `on_lost(session_key)` is called: the gateway must stop sending at once.
    """

    def __init__(
        self,
        database: Database,
        session_keys: list[str],
        *,
        owner: str | None = None,
        ttl: float = 15.0,
        on_lost: Callable[[str], None] | None = None,
    ) -> None:
        self.database = database
        self.keys = list(session_keys)
        self.owner = owner or owner_id()
        self.ttl = ttl
        self.on_lost = on_lost or (lambda key: None)
        self.held = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self, wait: float = 0.0, every: float = 0.5) -> None:
        deadline = utcnow() + timedelta(seconds=wait)
        while True:
            taken = [k for k in self.keys if try_acquire(self.database, k, self.owner, self.ttl)]
            if len(taken) == len(self.keys):
                break
            if utcnow() >= deadline:
                for k in taken:
                    release(self.database, k, self.owner)
                busy = next(k for k in self.keys if k not in taken)
                info = holder(self.database, busy)
                raise LeaseHeld(busy, info.owner if info else "?", info.expires_at if info else "?")
            self._stop.wait(every)
        self.held = True
        self._thread = threading.Thread(target=self._beat, name="routing-lease", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            for k in self.keys:
                try:
                    ok = try_acquire(self.database, k, self.owner, self.ttl)
                except Exception:  # database unreachable: we cannot prove we still hold it
                    ok = False
                if not ok:
                    self.held = False
                    self.on_lost(k)
                    return

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self.held:
            for k in self.keys:
                release(self.database, k, self.owner)
        self.held = False
