"""The desk's link to the OMS service: one engine thread owns the OrderManager and its FIX sessions.

Desk commands (cancel, replace, release, connect, disconnect) are queued to that thread and awaited
from a desk worker, never from the GUI thread. Broker messages go the OMS's usual way: quickfix
callbacks put them on the inbox, the engine thread applies them (engine.oms.loop), the manager
publishes OrderChanged / BrokerSessionChanged on the desk's bus and the bridge shows them.

No Qt here: the link is plain threads, so it can be tested and reused headless. The FIX gateway is
made by an injected factory (the composition root wires connectors.fix; ui never imports it).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from engine.errors import ConfigurationError
from engine.oms.loop import OmsLoop
from engine.oms.messages import Inbound
from engine.oms.service import OrderManager, RouteResult
from engine.oms.warm import WarmUp

log = logging.getLogger(__name__)
T = TypeVar("T")
STEP_WAIT = 0.25
"""Seconds the engine thread waits on its inbox when no broker message and no command comes."""
WARM_WAIT = 0.02
"""The wait between two pieces of the first route's warm-up (engine.oms.warm): the GUI breathes."""


class FixSessions(Protocol):
    """What the link needs of a FIX gateway (connectors.fix.gateway.FixGateway has it)."""

    @property
    def brokers(self) -> list[str]: ...

    def start(self) -> None: ...

    def stop(self, force: bool = False) -> None: ...

    def is_logged_on(self, broker: str) -> bool: ...

    def status(self) -> list[Any]: ...

    def send(self, message: Any) -> None: ...


GatewayFactory = Callable[["queue.SimpleQueue[Inbound]"], FixSessions]


@dataclass(frozen=True)
class SessionRow:
    """One configured broker session as the sessions panel shows it."""

    broker: str
    logged_on: bool
    next_sender_seq: int
    next_target_seq: int
    kind: str


class OmsLink:
    """Runs `manager` on its own engine thread; connects FIX sessions made by `gateway_factory`."""

    def __init__(
        self,
        manager: OrderManager,
        gateway_factory: GatewayFactory | None = None,
        *,
        label: str = "",
        brokers: list[str] | None = None,
        shared: bool = False,
    ) -> None:
        self.manager = manager
        self.gateway_factory = gateway_factory
        self.label = label
        """How the panels name the configured sessions (e.g. "SIMULATED broker on 127.0.0.1:9878")."""
        self.configured = list(brokers or [])
        self.shared = shared
        """Shared by several desks (the screenshot demo): `close` leaves it running, `shutdown` stops it."""
        self.inbox: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
        self.loop = OmsLoop(manager, self.inbox, tick_every=0.5)
        self.warm = WarmUp(manager.ctx)
        """The first route's one-time loads, done on the engine thread's idle steps (engine.oms.warm)."""
        self.gateway: FixSessions | None = None
        self._commands: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # ---- the engine thread ---------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="desk-oms", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            applied = -1
            try:  # a queued command wakes the wait (OmsLoop.wake): it never waits for the timeout
                applied = self.loop.step(timeout=STEP_WAIT if self.warm.done else WARM_WAIT)
            except Exception:  # the loop logs its own; this guards release_due
                log.exception("OMS engine step failed")
            idle = applied == 0 and not self.loop.retrying and self._commands.empty() and self.inbox.empty()
            if idle and not self.warm.done:  # one piece per idle step: a command waits for one at most
                self.warm.step()
            while True:
                try:
                    fn, fut = self._commands.get_nowait()
                except queue.Empty:
                    break
                if fut.set_running_or_notify_cancel():
                    try:
                        fut.set_result(fn())
                    except BaseException as exc:  # handed to the caller, who shows it
                        fut.set_exception(exc)

    def call(self, fn: Callable[[], T], timeout: float = 60.0) -> T:
        """Run `fn` on the engine thread and wait for its result (call from a worker, not the GUI)."""
        if threading.current_thread() is self._thread:
            return fn()
        self._ensure_thread()
        fut: Future[T] = Future()
        self._commands.put((fn, fut))
        self.loop.wake()
        return fut.result(timeout)

    # ---- sessions ------------------------------------------------------------------------------
    @property
    def can_connect(self) -> bool:
        return self.gateway_factory is not None

    def connect(self, wait_s: float = 15.0) -> list[SessionRow]:
        """Start the configured FIX sessions (logon follows asynchronously); returns their rows."""
        if self.gateway_factory is None:
            raise ConfigurationError(
                "no FIX session is configured: create <user config dir>/fix/sessions.cfg "
                "(see docs/oms.md) or run `workstation broker-sim` and the screenshot demo"
            )

        def start() -> None:
            if self.gateway is None:
                assert self.gateway_factory is not None
                gw = self.gateway_factory(self.inbox)
                gw.start()
                self.gateway = gw
                self.manager.gateway = gw
                self.configured = list(gw.brokers)

        self.call(start)
        self._wait(lambda: all(self.is_logged_on(b) for b in self.configured), wait_s)
        return self.sessions()

    def disconnect(self, wait_s: float = 10.0) -> list[SessionRow]:
        """Log out of every session and stop them; orders stay as they are (reconciled at next logon)."""

        def stop() -> FixSessions | None:
            gw, self.gateway = self.gateway, None
            self.manager.gateway = None
            return gw

        gw = self.call(stop)
        if gw is not None:
            gw.stop(False)
        self._wait(lambda: all(not s.logged_on for s in self.sessions()), wait_s)
        return self.sessions()

    def _wait(self, done: Callable[[], bool], seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if done():
                return True
            time.sleep(0.05)
        return done()

    def is_logged_on(self, broker: str) -> bool:
        gw = self.gateway
        return bool(gw is not None and gw.is_logged_on(broker))

    def sessions(self) -> list[SessionRow]:
        """Every configured session with its logon state and next sequence numbers."""
        gw = self.gateway
        if gw is None:
            known = {b: self.manager.sessions.get(b) for b in self.configured}
            return [
                SessionRow(
                    b,
                    False,
                    s.next_sender_seq if s else 0,
                    s.next_target_seq if s else 0,
                    "disconnected",
                )
                for b, s in known.items()
            ]
        out = []
        for st in gw.status():
            last = self.manager.sessions.get(st.broker)
            out.append(
                SessionRow(
                    st.broker,
                    bool(st.logged_on),
                    int(st.next_sender_seq),
                    int(st.next_target_seq),
                    last.kind if last else ("logon" if st.logged_on else "connecting"),
                )
            )
        return out

    # ---- the trader's commands -----------------------------------------------------------------
    def cancel(self, order_ids: list[int], username: str) -> list[int]:
        """Cancel each order (a block's cancel reaches its children); returns the ids asked."""

        def run() -> list[int]:
            for oid in order_ids:
                self.manager.cancel(oid, username)
            return list(order_ids)

        return self.call(run)

    def replace(
        self, order_id: int, quantity: Decimal | None, limit_price: Decimal | None, username: str
    ) -> str:
        """Cancel/replace one order; returns the replace's ClOrdID (ReplaceHeld if compliance holds it)."""
        return self.call(lambda: self.manager.replace(order_id, quantity, limit_price, username))

    def release(self, order_ids: list[int], username: str) -> RouteResult:
        """Send held orders now (the trader's command, for brokers that take orders out of hours)."""
        return self.call(lambda: self.manager.release_now(order_ids, username))

    def route(self, order_ids: list[int] | None = None, outside_hours: bool = False) -> RouteResult:
        return self.call(lambda: self.manager.route(order_ids, outside_hours=outside_hours))

    def create(self, drafts: list[Any], username: str) -> list[int]:
        """The ticket's Send: create the orders through compliance (OrderManager.create; the user
        needs orders.create, a trader kill switch refuses them); returns the new order ids."""
        return self.call(lambda: self.manager.create(drafts, username))

    def route_as(self, order_ids: list[int] | None, username: str, broker: str | None = None) -> RouteResult:
        """The trader's route from the blotter: released orders (these, or all when None) go to their
        brokers, or all to `broker` (a configured session chosen now); those for a closed market are
        held until its open. `username` needs orders.route (the engine's permission gate: a refusal
        is audited and nothing is routed). Skipped orders come back in `refused` with the OMS's
        reason (no broker, a kill switch, a strategy the chosen broker lacks)."""

        def run() -> RouteResult:
            r = self.manager.route(order_ids, username=username, broker=broker)
            return RouteResult(r.sent, r.held, r.skipped, {**r.refused, **self._why(r.skipped)})

        return self.call(run)

    def _why(self, order_ids: list[int]) -> dict[int, str]:
        """The last alert the OMS recorded on each order (why the router skipped it)."""
        if not order_ids:
            return {}
        from sqlalchemy import select

        from engine.oms.tables import OrderEvent

        out: dict[int, str] = {}
        with self.manager.database.session() as s:
            q = (
                select(OrderEvent.order_id, OrderEvent.detail)
                .where(OrderEvent.order_id.in_(order_ids), OrderEvent.kind == "alert")
                .order_by(OrderEvent.id)
            )
            for oid, detail in s.execute(q):
                out[int(oid)] = str((detail or {}).get("message", "skipped"))
        return {oid: out.get(oid, "skipped") for oid in order_ids}

    def close(self) -> None:
        """The desk is closing: stop everything unless the link is shared."""
        if not self.shared:
            self.shutdown()

    def shutdown(self) -> None:
        """Stop the sessions (without waiting for logout replies) and the engine thread."""
        gw, self.gateway = self.gateway, None
        self.manager.gateway = None
        if gw is not None:
            try:
                gw.stop(True)
            except Exception:
                log.exception("stopping the FIX sessions failed")
        self._stop.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(5)


def default_manager(database: Any, bus: Any, clock: Any, market_data: Any = None) -> OrderManager:
    """The OMS service as every front end builds it (engine.compose.build_order_manager): compliance's
    checker, re-check and approval cases, accounting's booker, the kill switch and the permission
    gate; events go on the desk's bus, times from the desk's clock; `market_data` for TCA."""
    from engine.compose import build_order_manager

    return build_order_manager(database, clock=clock, bus=bus, market_data=market_data)


def attach(desk: Any, link: OmsLink) -> OmsLink:
    """Give `desk` its OMS link (the composition root does this; `Desk.close` closes it)."""
    desk.oms = link
    return link


_ATTACH = threading.Lock()


def link_of(desk: Any) -> OmsLink:
    """The desk's OMS link, made on first use by `desk.oms_factory` when the composition root set
    one (in a worker: the OMS imports compliance and accounting); without either, a link with no
    FIX session (cancel of unsent orders and
    release to a later logon still work; connect explains what to configure). Thread-safe."""
    with _ATTACH:
        link = getattr(desk, "oms", None)
        if link is None:
            factory = getattr(desk, "oms_factory", None)  # set by the composition root
            made = factory() if factory is not None else None
            link = attach(desk, made or OmsLink(default_manager(desk.database, desk.bus, desk.clock)))
        return link
