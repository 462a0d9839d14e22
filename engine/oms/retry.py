"""Which database errors pass by themselves (retry), and the backoff and quiet logging of retries.

Transient is what PEP 249 calls OperationalError, "related to the database's operation and not
necessarily under the control of the programmer": SQLite's `database is locked` (another writer
holds the lock, or our WAL snapshot went stale), a PostgreSQL serialization failure, deadlock or
lock timeout, a dropped or refused connection; plus any error SQLAlchemy marks as a lost
connection and a pool timeout; and a lost optimistic-concurrency race (another desk changed the
order first: run again, the work reads the new version). The same work succeeds when run again. Anything else (a
constraint, bad broker data, a bug) fails the same way every time and is not retried.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import exc as sa
from sqlalchemy.orm.exc import StaleDataError

from engine.shared.errors import ConcurrentChange

_TRANSIENT = (sa.OperationalError, sa.DisconnectionError, sa.TimeoutError, StaleDataError, ConcurrentChange)


def is_transient(exc: BaseException) -> bool:
    """True for a database error that a later retry of the same work can get past."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:  # also look through wrapping exceptions
        seen.add(id(e))
        if isinstance(e, _TRANSIENT):
            return True
        if isinstance(e, sa.DBAPIError) and e.connection_invalidated:
            return True
        e = e.__cause__ if e.__cause__ is not None or e.__suppress_context__ else e.__context__
    return False


class Backoff:
    """Exponential backoff (first, doubling, capped) with logging bounded to one line per
    `log_every` seconds, so a database locked for an hour writes a few hundred lines, not millions."""

    def __init__(
        self, log: logging.Logger, first: float = 0.05, cap: float = 2.0, log_every: float = 30.0
    ) -> None:
        self.log = log
        self.first = first
        self.cap = cap
        self.log_every = log_every
        self.failures = 0
        self.since = 0.0
        self.retry_at = 0.0
        self._logged_at = 0.0

    @property
    def waiting(self) -> bool:
        return self.failures > 0

    def failed(self, what: str, exc: BaseException) -> None:
        """Note one more failure of `what`; the next try is due after the backoff."""
        now = time.monotonic()
        if self.failures == 0:
            self.since = now
        self.failures += 1
        self.retry_at = now + min(self.cap, self.first * 2 ** (self.failures - 1))
        if self.failures == 1 or now - self._logged_at >= self.log_every:
            self._logged_at = now
            self.log.warning(
                "%s failed (%s: %s); retrying, attempt %d, %.1f s so far",
                what,
                type(exc).__name__,
                str(exc).splitlines()[0] if str(exc) else "",
                self.failures,
                now - self.since,
            )

    def succeeded(self, what: str) -> None:
        if self.failures:
            self.log.warning(
                "%s applied after %d retries (%.1f s)", what, self.failures, time.monotonic() - self.since
            )
        self.failures = 0

    def due_in(self) -> float:
        return max(0.0, self.retry_at - time.monotonic()) if self.failures else 0.0
