"""The engine thread of the OMS: drains the inbox filled by FIX callbacks and applies each message.

FIX callbacks run on quickfix's threads and only put immutable messages on a `queue.SimpleQueue`;
this loop is the one place that changes order state, and it also releases held orders when their
market opens (asking the injected clock).
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable

from engine.oms.messages import Inbound
from engine.oms.service import OrderManager

log = logging.getLogger(__name__)


class OmsLoop:
    """Apply inbound messages in arrival order; call `tick` work at most every `tick_every` s."""

    def __init__(
        self,
        manager: OrderManager,
        inbox: queue.SimpleQueue[Inbound],
        tick_every: float = 0.5,
        batch: int = 500,
    ) -> None:
        self.manager = manager
        self.batch = batch
        self.inbox = inbox
        self.tick_every = tick_every
        self._last_tick = 0.0
        self.applied = 0

    def step(self, timeout: float = 0.05) -> int:
        """Apply everything waiting (waiting up to `timeout` for the first); returns how many."""
        batch: list[Inbound] = []
        try:
            batch.append(self.inbox.get(timeout=timeout))
            while len(batch) < self.batch:
                batch.append(self.inbox.get_nowait())
        except queue.Empty:
            pass
        n = len(batch)
        if batch:
            try:
                self.manager.apply_batch(batch)
            except Exception:  # a bug must not stop the loop: logged, the next batch goes on
                log.exception("failed to apply a batch of %d message(s)", n)
        now = time.monotonic()
        if now - self._last_tick >= self.tick_every:
            self._last_tick = now
            self.manager.release_due()
        self.applied += n
        return n

    def run_until(self, done: Callable[[], bool], timeout: float) -> bool:
        """Run until `done()` is true (True) or `timeout` seconds pass (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.step()
            if done():
                return True
        return done()
