"""The change listener: a background thread that follows the change feed and survives drops.

PostgreSQL: one autocommit connection LISTENs on the change channel; each wake-up (and every
`poll` seconds anyway) reads change_log after the last sequence seen. SQLite: it polls.
After a lost connection it reconnects with exponential backoff and catches up from the last
sequence seen, so nothing committed during the gap is missed. Sequence numbers are taken
before commit, so a later seq can commit first: a hole below the highest seq seen is re-asked
for until it appears or `gap_ttl` passes (a rolled-back transaction leaves a hole for ever).

Callbacks run on the listener thread: `on_changes(list[Change])`, `on_state(online, detail)`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from engine.shared.feed import Change, changes_after, last_seq
from engine.shared.triggers import CHANNEL
from engine.store.database import parse_url

log = logging.getLogger(__name__)

OnChanges = Callable[[Sequence[Change]], None]
OnState = Callable[[bool, str], None]


class ChangeListener:
    """Follows the change feed of one database on its own thread."""

    def __init__(
        self,
        url: str | URL,
        on_changes: OnChanges,
        on_state: OnState | None = None,
        *,
        since: int | None = None,
        poll: float = 0.5,
        wait: float = 0.2,
        max_backoff: float = 5.0,
        gap_ttl: float = 600.0,
        connect_args: dict[str, object] | None = None,
    ) -> None:
        self.url = parse_url(url)
        self.on_changes = on_changes
        self.on_state = on_state or (lambda online, detail: None)
        self.last_seen = since
        self.poll = poll
        self.wait = wait
        self.max_backoff = max_backoff
        self.gap_ttl = gap_ttl
        self.gaps: dict[int, float] = {}
        self.online = False
        self.reconnects = 0
        self.backend_pid: int | None = None
        self._stop = threading.Event()
        self._engine: Engine = create_engine(self.url, poolclass=NullPool, connect_args=connect_args or {})
        self._thread = threading.Thread(target=self._run, name="change-listener", daemon=True)

    @property
    def is_postgres(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    def start(self) -> ChangeListener:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        self._engine.dispose()

    # ------------------------------------------------------------------ the thread

    def _set_online(self, online: bool, detail: str) -> None:
        if online != self.online:
            self.online = online
            self.on_state(online, detail)

    def _run(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            try:
                with self._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    self._follow(conn)
                return
            except Exception as exc:  # a dropped or refused connection: go offline, retry
                if self._stop.is_set():
                    return
                self._set_online(False, f"database connection lost: {type(exc).__name__}: {exc}".strip())
                log.warning("change listener: %s; retrying in %.1f s", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                self.reconnects += 1
            else:
                backoff = 0.1

    def _follow(self, conn: Connection) -> None:
        raw = conn.connection.driver_connection if self.is_postgres else None
        if raw is not None:
            raw.execute(f"LISTEN {CHANNEL}")
            self.backend_pid = raw.info.backend_pid
        if self.last_seen is None:
            self.last_seen = last_seq(conn)
        self._catch_up(conn)  # whatever committed while we were away
        self._set_online(True, "connected")
        next_poll = time.monotonic() + self.poll
        while not self._stop.is_set():
            woken = False
            if raw is not None:
                for _ in raw.notifies(timeout=self.wait, stop_after=1):
                    woken = True
            else:
                self._stop.wait(self.wait)
            if woken or time.monotonic() >= next_poll or self.gaps:
                self._catch_up(conn)
                next_poll = time.monotonic() + self.poll

    def _catch_up(self, conn: Connection) -> None:
        """Read and deliver every change after last_seen (and any hole still open)."""
        while True:
            now = time.monotonic()
            self.gaps = {s: t for s, t in self.gaps.items() if now - t < self.gap_ttl}
            batch = changes_after(conn, self.last_seen or 0, also=tuple(self.gaps))
            if not batch:
                return
            for c in batch:
                self.gaps.pop(c.seq, None)
            top = max(c.seq for c in batch)
            have = {c.seq for c in batch}
            for s in range((self.last_seen or 0) + 1, top):
                if s not in have:
                    self.gaps.setdefault(s, now)
            self.last_seen = max(self.last_seen or 0, top)
            self.on_changes(batch)
            if len(batch) < 5000:
                return
