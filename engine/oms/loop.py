"""The engine thread of the OMS: drains the inbox filled by FIX callbacks and applies each message.

Each step is a wave: every route call queued by callers (`OmsLoop.route`, engine.oms.waves) and
then every broker message waiting, each in one transaction with bulk statements for the ordinary
orders (engine.oms.wave_route, engine.oms.wave_fills). A wave is whatever is waiting when the step
looks: no timer, so a lone call or report goes at once. A wave is capped (`wave` route calls,
`batch` broker messages): under a flood, a wave of thousands would hold every order in it until
its last one is written and handed to QuickFIX, and the counterpart would sit idle meanwhile; with
the cap the first orders are on the wire while the next wave is routed, and the calls left wait
in their queue for the next step (which then does not sleep).

FIX callbacks run on quickfix's threads and only put immutable messages on a `queue.SimpleQueue`;
this loop is the one place that changes order state, and it also releases held orders when their
market opens (asking the injected clock).

Nothing is lost on the wire:

- A transient database error (engine.oms.retry: locked, busy, a stale SQLite snapshot, a dropped
  connection, a lost concurrency race) never drops a message. By the time a message is on the
  inbox QuickFIX has advanced the session's incoming sequence number, so the broker will not send
  it again while this process lives: the copy here is the only one. The failed work stays at the
  head of a local queue and is retried with backoff (0.05 s doubling to 2 s, one log line per
  30 s) until it applies, and nothing behind it is applied first, so order is kept. The loop does
  not block or refuse the QuickFIX callback instead: a blocked callback stops heartbeats and the
  session is logged out, and a refused message costs a reconnect and a resend that depends on the
  broker's store. The thread keeps stepping while it waits, so the desk's commands still run.
- A crash while messages wait loses none either: each batch records the last MsgSeqNum applied
  per session (engine.oms.progress) in the transaction that applies it, and at the next start the FIX gateway
  has the broker send everything after it again (duplicates are recognised by ExecID). A message
  dropped as bad (below) moves the resume point past itself in a transaction of its own.
- A non-transient failure is a bad message, not a bad batch: the batch is applied again one
  message at a time, and only a message that fails on its own is dropped, with an OrderAlert.
- A SessionGap (a ResendRequest received, a SequenceReset-GapFill sent or received) means
  messages may not have reached the other side: our resent orders are gap-filled, never replayed
  (connectors.fix.application). The loop then reconciles that broker: an OrderStatusRequest for
  every open order sent to it, and the orders it never got go again under the same ClOrdID
  (OrderManager.reconcile). Notices within `settle` seconds make one reconcile, run after QuickFIX
  has finished the resend, so our requests follow the gap fill.
"""

from __future__ import annotations

import logging
import queue
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from engine.oms.events import OrderAlert
from engine.oms.messages import Inbound, SessionGap, SessionState, Wake
from engine.oms.progress import first_seen, last_seqs
from engine.oms.progress import record as record_progress
from engine.oms.retry import Backoff, is_transient
from engine.oms.router import RouteResult
from engine.oms.service import OrderManager
from engine.oms.waves import RouteCall, route_calls

log = logging.getLogger(__name__)

GAP_MAX_WAIT = 5.0
"""A reconcile armed by a gap runs at most this long after the first notice, even if more come."""


@dataclass
class _Work:
    """One unit the loop applies and, on a transient error, retries as a whole."""

    kind: str  # batch (broker messages and their progress, one transaction), progress (of a dropped
    # message), session, reconcile, routes (the route calls waiting: engine.oms.waves)
    messages: list[Inbound] = field(default_factory=list)
    broker: str = ""
    calls: list[RouteCall] = field(default_factory=list)

    def __str__(self) -> str:
        if self.kind == "reconcile":
            return f"reconcile of {self.broker} after a sequence gap"
        if self.kind == "routes":
            return f"a wave of {len(self.calls)} route call(s)"
        if self.kind == "progress":
            return f"recording the sequence numbers of {len(self.messages)} applied message(s)"
        return f"{self.kind} of {len(self.messages)} message(s)"


class OmsLoop:
    """Apply inbound messages in arrival order; call `tick` work at most every `tick_every` s."""

    def __init__(
        self,
        manager: OrderManager,
        inbox: queue.SimpleQueue[Inbound],
        tick_every: float = 0.5,
        batch: int = 500,
        settle: float = 0.3,
        wave: int = 200,
    ) -> None:
        self.manager = manager
        self.batch = batch
        self.wave = wave
        """Route calls taken per step at most (the rest wait for the next step)."""
        self.inbox = inbox
        self.tick_every = tick_every
        self.settle = settle
        self._last_tick = 0.0
        self.applied = 0
        self.dropped = 0
        """Messages that failed on their own with a non-transient error (each alerted)."""
        self.gap_reconciles = 0
        self.retries = 0
        """Transient failures so far (each followed by a retry of the same work)."""
        self.backoff = Backoff(log)
        self._tick_backoff = Backoff(log)
        self._post_backoff = Backoff(log)
        self._work: deque[_Work] = deque()
        self._gaps: dict[str, tuple[float, float]] = {}  # broker -> (first notice, due)
        self._calls: queue.SimpleQueue[RouteCall] = queue.SimpleQueue()
        self.routed = 0
        """Route calls answered so far (engine.oms.waves)."""

    @property
    def retrying(self) -> bool:
        """Work failed for a transient reason and waits for its retry; the inbox is not read."""
        return self.backoff.waiting

    def wake(self) -> None:
        """Make a `step` waiting on the inbox return now (from any thread): a command is waiting."""
        self.inbox.put(Wake())

    def route(
        self,
        order_ids: Sequence[int],
        *,
        username: str | None = None,
        broker: str | None = None,
        outside_hours: bool = False,
    ) -> Future[RouteResult]:
        """Queue a route of released orders to the engine thread (from any thread) and wake it:
        it routes every call waiting in one wave (engine.oms.waves). The Future carries this
        call's RouteResult, or its refusal (PermissionDenied, ControlFailed, ...)."""
        call = RouteCall(tuple(order_ids), username, broker, outside_hours)
        self._calls.put(call)
        self.wake()
        return call.done

    def step(self, timeout: float = 0.05) -> int:
        """Apply everything waiting (waiting up to `timeout` for the first); returns how many."""
        if self.backoff.waiting:
            wait = self.backoff.due_in()
            if wait > 0:
                time.sleep(min(wait, timeout))
                return 0
        else:
            taken = self._take(0.0 if not self._calls.empty() else timeout)
            self._route_calls()
            self._plan(taken)
        self._arm_due()
        routed = self.routed
        n = self._drain()
        if not self.backoff.waiting:  # a wave that routed is busy too: its reports come next
            self._tick(busy=n > 0 or self.routed > routed)
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

    # ------------------------------------------------------------------ taking and planning

    def _take(self, timeout: float) -> list[Inbound]:
        if self._gaps:  # a reconcile is armed: do not sleep past it
            timeout = max(0.0, min(timeout, min(d for _, d in self._gaps.values()) - time.monotonic()))
        batch: list[Inbound] = []
        try:
            batch.append(self.inbox.get(timeout=timeout) if timeout > 0 else self.inbox.get_nowait())
            while len(batch) < self.batch:
                batch.append(self.inbox.get_nowait())
        except queue.Empty:
            pass
        return batch

    def _route_calls(self) -> None:
        """The route calls waiting (at most `wave` of them) become one unit of work, applied before
        the broker messages."""
        calls: list[RouteCall] = []
        try:
            while len(calls) < self.wave:
                calls.append(self._calls.get_nowait())
        except queue.Empty:
            pass
        if calls:
            self._work.append(_Work("routes", calls=calls))

    def _plan(self, batch: list[Inbound]) -> None:
        """Runs of broker messages become one transaction each, with the record of how far each
        session got (engine.oms.progress); session changes apply alone, in their place; gap
        notices arm a reconcile; a Wake only ends the wait."""
        run: list[Inbound] = []
        for m in batch:
            if isinstance(m, Wake):
                continue
            if isinstance(m, SessionGap):
                self._gap(m)
            elif isinstance(m, SessionState):
                self._run(run)
                run = []
                self._work.append(_Work("session", [m]))
            else:
                run.append(m)
        self._run(run)

    def _run(self, run: list[Inbound]) -> None:
        if run:  # its sessions' resume points commit with it (OrderManager.apply_batch)
            self._work.append(_Work("batch", run))

    def _gap(self, m: SessionGap) -> None:
        now = time.monotonic()
        first, _ = self._gaps.get(m.broker, (now, now))
        self._gaps[m.broker] = (first, min(now + self.settle, first + GAP_MAX_WAIT))
        log.info("sequence gap on %s (%s %d..%d): reconcile armed", m.broker, m.kind, m.begin_seq, m.end_seq)

    def _arm_due(self) -> None:
        now = time.monotonic()
        for broker, (_, due) in list(self._gaps.items()):
            if due <= now:
                del self._gaps[broker]
                self._work.append(_Work("reconcile", broker=broker))

    # ------------------------------------------------------------------ applying

    def _apply(self, w: _Work) -> None:
        if w.kind == "routes":
            self.routed += route_calls(self.manager.router, w.calls)
        elif w.kind == "batch":
            self.manager.apply_batch(w.messages, last_seqs(w.messages))
        elif w.kind == "progress":
            with self.manager.database.transaction() as s:
                record_progress(s, last_seqs(w.messages))
        elif w.kind == "session":
            m = w.messages[0]
            if isinstance(m, SessionState) and m.kind == "logon" and m.next_target_seq > 0:
                with self.manager.database.transaction() as s:
                    first_seen(s, m.session_id, m.next_target_seq - 1)
            self.manager.apply(m)
        else:
            asked = self.manager.reconcile(w.broker)
            self.gap_reconciles += 1
            log.info("asked %s for the status of %d open order(s) after a sequence gap", w.broker, asked)

    def _drain(self) -> int:
        """Apply queued work in order; stop at a transient failure (retried after the backoff)."""
        n = 0
        while self._work:
            w = self._work[0]
            try:
                self._apply(w)
            except Exception as exc:
                if is_transient(exc):
                    self.retries += 1
                    self.backoff.failed(str(w), exc)
                    return n
                self._work.popleft()
                self.backoff.succeeded(str(w))
                self._bad(w, exc)
                continue
            self._work.popleft()
            self.backoff.succeeded(str(w))
            if w.kind != "progress":
                n += len(w.messages)
        return n

    def _bad(self, w: _Work, exc: Exception) -> None:
        """A non-transient failure: split a batch into single messages; drop a lone one, alerted.
        Route calls still waiting for an answer get the failure."""
        if w.kind == "routes":
            log.error("%s failed: %s: %s", w, type(exc).__name__, exc, exc_info=exc)
            for c in w.calls:
                if not c.done.done() and c.done.set_running_or_notify_cancel():
                    c.done.set_exception(exc)
            return
        if w.kind == "batch" and len(w.messages) > 1:
            log.warning("a batch of %d failed (%s); applying its messages one by one", len(w.messages), exc)
            self._work.extendleft(_Work("batch", [m]) for m in reversed(w.messages))
            return
        if w.kind == "progress":  # the messages are applied; only a restart's resume point is older
            log.error("%s failed: %s: %s", w, type(exc).__name__, exc, exc_info=exc)
            return
        what = repr(w.messages[0]) if w.messages else str(w)
        log.error("dropped %s: %s: %s", what, type(exc).__name__, exc, exc_info=exc)
        if w.kind == "batch" and last_seqs(w.messages):  # a restart resumes after it, not at it
            self._work.appendleft(_Work("progress", w.messages))
        self.dropped += len(w.messages)
        self.manager.ctx.alerts += 1
        cl_ord_id = getattr(w.messages[0], "cl_ord_id", "") if w.messages else ""
        self.manager.bus.publish(
            OrderAlert(order_id=None, cl_ord_id=cl_ord_id, message=f"could not apply {what}: {exc}")
        )

    def _tick(self, busy: bool = False) -> None:
        """The periodic work (held orders due, allocation instructions, TCA marks). A step that
        applied broker messages leaves it to the next idle step, so a fill is not followed by
        polls before the next message is taken, unless it is a whole period overdue."""
        now = time.monotonic()
        since = now - self._last_tick
        if since < self.tick_every or (busy and since < 2 * self.tick_every):
            return
        self._last_tick = now
        try:  # sent_at of orders no wave has written yet (a broker that has not answered)
            self.manager.stamp_waiting()
        except Exception as exc:  # kept in memory: the next wave or tick writes them
            if not is_transient(exc):
                log.exception("writing when orders were sent failed")
        try:
            self.manager.release_due()
        except Exception as exc:
            if not is_transient(exc):
                raise
            self._tick_backoff.failed("releasing held orders", exc)  # the next tick tries again
        else:
            self._tick_backoff.succeeded("releasing held orders")
        try:  # allocation instructions waiting for a session, and those never answered
            self.manager.post_trade_due()
        except Exception as exc:  # never stops routing: the next tick tries again
            if is_transient(exc):
                self._post_backoff.failed("sending allocation instructions", exc)
            else:
                log.exception("sending or checking allocation instructions failed")
        else:
            self._post_backoff.succeeded("sending allocation instructions")
        try:  # the market around finished orders, for transaction cost analysis
            self.manager.capture_marks()
        except Exception:  # never stops routing: the next tick tries again
            log.exception("taking the market marks of finished orders failed")
