"""What every part of the OMS shares: the store, the controls, the FIX gateway and one transaction
helper that publishes events and hands messages to the brokers only after the commit.

The parts (commands, blocks, router, executions, booking) each hold this context; the
`OrderManager` facade (engine.oms.service) builds them and owns nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from engine.clock import Clock
from engine.errors import NotFound
from engine.events import Event, EventBus
from engine.markets.clock import MarketClock
from engine.oms.controls import ApprovalCases, KillSwitchPort, guarded
from engine.oms.errors import RouteError
from engine.oms.events import OrderAlert, OrderChanged
from engine.oms.gateway import OrderGateway
from engine.oms.journal import ORDER_MACHINE
from engine.oms.marks import NoMarketData, mark_arrivals
from engine.oms.messages import AllocInstruction, NewOrder, Outbound, SessionState
from engine.oms.recheck import ReplaceRechecker
from engine.oms.tables import Order
from engine.ports import MarketDataPort, PreTradeChecker, TradeBooker
from engine.shared.concurrency import conflicts
from engine.store.database import Database
from engine.store.reference import Security

log = logging.getLogger("engine.oms.service")

Authorize = Callable[[Session, str, str], object]
"""`authorize(session, user, permission)`: raises PermissionDenied (engine.access.guard.require)."""


@dataclass
class Tx:
    """What a transaction produced: events to publish and messages to send after the commit."""

    session: Session
    events: list[Event] = field(default_factory=list)
    outbound: list[Outbound] = field(default_factory=list)
    exec_ids: set[tuple[str, str]] | None = None
    """(broker, ExecID) applied so far, when a batch read them up front (Executions.apply_batch);
    None: ask the database."""
    stamped: int = 0
    """How many of OmsContext.unstamped this transaction wrote (dropped after the commit)."""


@dataclass
class OmsContext:
    """The OMS's shared state: store, clock, bus, gateway, the required controls and counters."""

    database: Database
    checker: PreTradeChecker
    recheck: ReplaceRechecker
    booker: TradeBooker
    authorize: Authorize
    kill_switch: KillSwitchPort
    cases: ApprovalCases
    clock: Clock
    bus: EventBus
    username: str
    gateway: OrderGateway | None = None
    sessions: dict[str, SessionState] = field(default_factory=dict)
    duplicates: int = 0
    alerts: int = 0
    _markets: MarketClock | None = None
    dates: dict[tuple[str, datetime], date] = field(default_factory=dict)
    settles: dict[tuple[str, date, int], date] = field(default_factory=dict)
    after_send: Callable[[set[str]], None] | None = None
    """Told the AllocIDs of allocation instructions a session took (engine.oms.post_trade)."""
    _release_times: dict[tuple[str, datetime], datetime | None] = field(default_factory=dict)
    market_data: MarketDataPort = field(default_factory=NoMarketData)
    """Arrival prices and the market's prints for transaction cost analysis (engine.oms.marks)."""
    unstamped: list[tuple[datetime, set[str]]] = field(default_factory=list)
    """Orders a wave handed to their sessions, with when, whose sent_at the next wave writes."""

    # ------------------------------------------------------------------ controls

    def allowed(self, s: Session, username: str | None, permission: str) -> None:
        """The acting user needs `permission` (PermissionDenied, audited); call before writing.
        An authorizer that fails for any other reason refuses the command too."""
        with guarded("the permission check"):
            self.authorize(s, username or self.username, permission)

    def routable(self, s: Session, codes: set[str]) -> set[str]:
        """The accounts whose orders may route now; the kill switch failing refuses them all."""
        if not codes:
            return set()
        with guarded("the kill switch"):
            return set(self.kill_switch.allowed(s, codes)) & codes

    def stopped_traders(self, s: Session, usernames: set[str]) -> dict[str, str]:
        """Traders whose orders a trader kill switch stops -> why; the switch failing refuses."""
        if not usernames:
            return {}
        with guarded("the kill switch"):
            return dict(self.kill_switch.stopped_traders(s, usernames))

    def release_time(self, mic: str, now: datetime) -> datetime | None:
        """MarketClock.release_time, remembered per market and minute (the calendars' resolution:
        the same minute always gets the same answer), so routing a lone order does not ask the
        exchange calendar each time."""
        key = (mic, now.astimezone(UTC).replace(second=0, microsecond=0))
        if key not in self._release_times:
            if len(self._release_times) > 4096:
                self._release_times.clear()
            self._release_times[key] = self.markets.release_time(mic, now)
        return self._release_times[key]

    @property
    def markets(self) -> MarketClock:
        if self._markets is None:
            with self.database.session() as s:
                self._markets = MarketClock.from_store(s, self.clock)
        return self._markets

    # ------------------------------------------------------------------ transactions

    @contextmanager
    def tx(self) -> Iterator[Tx]:
        """One transaction; after the commit its events are published and its messages sent."""
        with self.database.transaction() as s:
            tx = Tx(s)
            with conflicts(s):  # another desk changed one of these orders first: ConcurrentChange
                yield tx
                s.flush()
        del self.unstamped[: tx.stamped]
        for ev in tx.events:
            self.bus.publish(ev)
        handed = self.send_all(tx.outbound)
        resent = {m.cl_ord_id for m in tx.outbound if isinstance(m, NewOrder)} & handed
        if resent:  # an order sent again after a lost send: it is now at the broker
            self.stamp_sent(resent)
        allocs = {m.alloc_id for m in tx.outbound if isinstance(m, AllocInstruction)} & handed
        if allocs and self.after_send is not None:
            self.after_send(allocs)

    def stamp_sent(self, cl_ord_ids: set[str]) -> None:
        """Record when orders were handed to their FIX session (the first time only), and the
        market then: the arrival price (engine.oms.marks), in a transaction of its own."""
        with self.database.transaction() as s:
            self._stamp(s, cl_ord_ids, self.clock.now())

    def stamp_later(self, cl_ord_ids: set[str]) -> None:
        """`stamp_sent` folded into the engine thread's next transaction (a wave's, `stamp_waiting`):
        the hand-off time is taken now, written then (engine.oms.waves)."""
        if cl_ord_ids:
            self.unstamped.append((self.clock.now(), set(cl_ord_ids)))

    def stamp_waiting(self, tx: Tx) -> None:
        """Write the hand-off times `stamp_later` kept, in the caller's transaction (forgotten only
        once it commits: a rolled-back wave leaves them for the next)."""
        for stamp, ids in self.unstamped:
            self._stamp(tx.session, ids, stamp)
        tx.stamped = len(self.unstamped)

    def _stamp(self, s: Session, cl_ord_ids: set[str], stamp: datetime) -> None:
        """Core statements, no ORM objects: one UPDATE (its version bumped, as an ORM write would)
        of the orders not stamped yet, then their arrival marks in a savepoint."""
        t = cast(Table, Order.__table__)
        todo = t.c.cl_ord_id.in_(sorted(cl_ord_ids)) & t.c.sent_at.is_(None)
        stamp_it = update(t).values(sent_at=stamp, version=t.c.version + 1)
        if s.get_bind().dialect.update_returning:
            first = list(s.execute(stamp_it.where(todo).returning(t.c.id, t.c.security_id)).all())
        else:
            first = list(s.execute(select(t.c.id, t.c.security_id).where(todo)).all())
            s.execute(stamp_it.where(t.c.id.in_([r.id for r in first])))
        if first:
            try:  # TCA's mark never costs the stamp: a failure here is logged, the order unmeasured
                with s.begin_nested():
                    mark_arrivals(s, self.market_data, first, stamp)
            except Exception:
                log.exception("arrival prices not marked for %d order(s)", len(first))

    def send_all(self, messages: Sequence[Outbound]) -> set[str]:
        """Hand messages to their sessions; returns the ClOrdIDs actually handed over."""
        done: set[str] = set()
        if not messages:
            return done
        if self.gateway is None:
            log.warning("no FIX gateway: %d message(s) wait for the next logon", len(messages))
            return done
        for m in messages:
            try:
                self.gateway.send(m)
                done.add(m.cl_ord_id)
            except RouteError as exc:
                log.warning("not sent now, will be reconciled at logon: %s", exc)
        return done

    # ------------------------------------------------------------------ order changes

    def changed(self, tx: Tx, o: Order) -> None:
        tx.events.append(
            OrderChanged(
                order_id=o.id,
                cl_ord_id=o.cl_ord_id,
                status=o.status,
                cum_qty=o.cum_qty,
                leaves_qty=o.leaves_qty,
                avg_px=o.avg_px,
            )
        )

    def fire(
        self,
        tx: Tx,
        o: Order,
        event: str,
        username: str | None,
        detail: dict[str, Any] | None = None,
        facts: dict[str, Any] | None = None,
    ) -> str:
        """Move `o` on `event` through the order state machine (its order_events row is written
        in the same session); InvalidTransition changes nothing and propagates."""
        return ORDER_MACHINE.fire(
            tx.session, o, event, actor=username or self.username, detail=detail or None, facts=facts
        )

    def move(self, tx: Tx, o: Order, event: str, username: str | None, detail: dict[str, Any]) -> None:
        """A desk action through the state table, published as OrderChanged."""
        self.fire(tx, o, event, username, detail)
        self.changed(tx, o)

    def alert(self, tx: Tx, o: Order | None, cl_ord_id: str, message: str) -> None:
        """An invariant or the state table was broken: log, alert, keep the order as it is."""
        self.alerts += 1
        log.warning("order %s: %s", cl_ord_id, message)
        if o is not None:
            self.fire(tx, o, "alert", None, {"message": message})
        tx.events.append(OrderAlert(order_id=o.id if o else None, cl_ord_id=cl_ord_id, message=message))

    # ------------------------------------------------------------------ lookups

    def order(self, s: Session, order_id: int) -> Order:
        o = s.get(Order, order_id)
        if o is None:
            raise NotFound(f"order {order_id} does not exist")
        return o

    def symbol(self, s: Session, o: Order) -> Security:
        sec = s.get(Security, o.security_id)
        assert sec is not None
        return sec
