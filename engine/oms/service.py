"""The order manager: creates orders, checks them, holds them for closed markets, blocks them,
routes them, works them (cancel/replace) and applies what brokers report.

Every change happens in one transaction that also appends the order_events rows; events are
published after the commit. An order is committed as pending_new BEFORE it is handed to a FIX
session, so a crash can lose a send but never an order: on every logon the OMS asks the broker
for the status of each order it holds as sent and not final, resends those the broker never got
(same ClOrdID, so a duplicate is impossible) and takes the broker's status for the rest.

All broker messages are applied on one engine thread (see engine.oms.loop).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from engine.accounting.fxspot import book_fx_fill
from engine.accounting.settlement import fx_settle_date
from engine.clock import Clock, SystemClock
from engine.errors import InvalidTransition, NotFound
from engine.events import Event, EventBus
from engine.markets.clock import MarketClock
from engine.model.enums import Side
from engine.model.trades import LotPick, TradeFill
from engine.oms import routing
from engine.oms.allocation import Want, pick_lots, pro_rata
from engine.oms.drafts import OrderDraft
from engine.oms.errors import OrderRejected, ReplaceHeld, RouteError
from engine.oms.events import BrokerSessionChanged, OrderAlert, OrderChanged
from engine.oms.from_proposal import FX_ASSET_CLASS, fx_pair
from engine.oms.gateway import OrderGateway
from engine.oms.ids import new_cl_ord_id
from engine.oms.journal import record
from engine.oms.messages import CancelReject, ExecReport, Inbound, NewOrder, Outbound, SessionState
from engine.oms.recheck import HeldReplace, ReplaceRechecker, held_replace, loosened
from engine.oms.resend import resent_since_asked
from engine.oms.retry import is_transient
from engine.oms.status import AT_BROKER, FINAL, FIX_ORD_STATUS, LOCAL, OrderStatus
from engine.oms.tables import Allocation, ClientOrderId
from engine.oms.transitions import Incoming, resolve
from engine.ports import OrderIntent, PreTradeChecker, TradeBooker
from engine.shared.concurrency import conflicts
from engine.store.accounts import Account
from engine.store.reference import Security, SettlementCycle
from engine.store.trading import Execution, Order, OrderEvent

log = logging.getLogger(__name__)
S = OrderStatus
I = Incoming  # noqa: E741
PX = Decimal("0.000001")

EXEC_TYPE_INCOMING: dict[str, Incoming] = {
    "A": I.PENDING_NEW,
    "0": I.NEW,
    "3": I.DONE_FOR_DAY,
    "4": I.CANCELED,
    "5": I.REPLACED,
    "6": I.PENDING_CANCEL,
    "8": I.REJECTED,
    "C": I.EXPIRED,
    "D": I.RESTATED,
    "E": I.PENDING_REPLACE,
    "I": I.ORDER_STATUS,
}


@dataclass
class _Tx:
    """What a transaction produced: events to publish and messages to send after the commit."""

    session: Session
    events: list[Event] = field(default_factory=list)
    outbound: list[Outbound] = field(default_factory=list)


@dataclass(frozen=True)
class _Child:
    id: int
    cl_ord_id: str
    quantity: Decimal
    account_id: int | None
    side: str
    lot_instructions: Any


@dataclass(frozen=True)
class RouteResult:
    sent: list[int]
    held: list[int]
    skipped: list[int]
    refused: dict[int, str] = field(default_factory=dict)
    """Held replaces the trader released that compliance still holds: order id -> why."""


_KILL_SWITCH: list[Callable[[Session, str], bool] | None] = []


def _routing_allowed(session: Session, account_code: str) -> bool:
    """Compliance's kill switch when it is installed (engine.compliance.killswitch)."""
    if not _KILL_SWITCH:
        try:
            from engine.compliance.killswitch import routing_allowed
        except ImportError:
            routing_allowed = None  # type: ignore[assignment]
        _KILL_SWITCH.append(routing_allowed)
    check = _KILL_SWITCH[0]
    return True if check is None else bool(check(session, account_code))


def _any_kill_switch(session: Session) -> bool:
    """One query instead of two per account: is any kill switch engaged at all? (True if unsure.)"""
    try:
        from engine.compliance.tables import KillSwitch
    except ImportError:
        return False
    try:
        return (
            session.scalar(select(KillSwitch.id).where(KillSwitch.released_at.is_(None)).limit(1)) is not None
        )
    except Exception:
        return True


def _allowed_accounts(session: Session, codes: set[str]) -> set[str]:
    """The accounts whose orders may route now (all of them unless a kill switch is engaged)."""
    if not _any_kill_switch(session):
        return set(codes)
    return {c for c in codes if _routing_allowed(session, c)}


class OrderManager:
    """The OMS service. `gateway` sends to brokers; `checker` is compliance; `booker` is accounting;
    `recheck` is compliance's re-check of a loosened cancel/replace (None: loosened replaces are held)."""

    def __init__(
        self,
        database: Any,
        *,
        gateway: OrderGateway | None = None,
        checker: PreTradeChecker | None = None,
        booker: TradeBooker | None = None,
        clock: Clock | None = None,
        bus: EventBus | None = None,
        username: str = "oms",
        fault: Callable[[str], None] | None = None,
        recheck: ReplaceRechecker | None = None,
        authorize: Callable[[Session, str, str], object] | None = None,
    ) -> None:
        """`authorize(session, user, permission)` (engine.access.guard.require in the desk and the
        CLI) gates every user's command; without it (tests, system jobs) nothing is gated here."""
        self.database = database
        self.gateway = gateway
        self.checker = checker
        self.booker = booker
        self.recheck = recheck
        self.authorize = authorize
        self.clock = clock or SystemClock()
        self.bus = bus or EventBus()
        self.username = username
        self.fault = fault or (lambda point: None)
        self.sessions: dict[str, SessionState] = {}
        self.duplicates = 0
        self.alerts = 0
        self._markets: MarketClock | None = None
        self._dates: dict[tuple[str, datetime], date] = {}
        self._settles: dict[tuple[str, date, int], date] = {}

    # ------------------------------------------------------------------ plumbing

    def _allowed(self, s: Session, username: str | None, permission: str) -> None:
        """The acting user needs `permission` (PermissionDenied, audited); call before writing."""
        if self.authorize is not None:
            self.authorize(s, username or self.username, permission)

    @property
    def markets(self) -> MarketClock:
        if self._markets is None:
            with self.database.session() as s:
                self._markets = MarketClock.from_store(s, self.clock)
        return self._markets

    @contextmanager
    def _tx(self) -> Iterator[_Tx]:
        with self.database.transaction() as s:
            tx = _Tx(s)
            with conflicts(s):  # another desk changed one of these orders first: ConcurrentChange
                yield tx
                s.flush()
        for ev in tx.events:
            self.bus.publish(ev)
        handed = self._send_all(tx.outbound)
        resent = {m.cl_ord_id for m in tx.outbound if isinstance(m, NewOrder)} & handed
        if resent:  # an order sent again after a lost send: it is now at the broker
            with self.database.transaction() as s:
                stamp = self.clock.now()
                for o in s.scalars(select(Order).where(Order.cl_ord_id.in_(resent))):
                    o.sent_at = o.sent_at or stamp

    def _send_all(self, messages: Sequence[Outbound]) -> set[str]:
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

    def _changed(self, tx: _Tx, o: Order) -> None:
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

    def _alert(self, tx: _Tx, o: Order | None, cl_ord_id: str, message: str) -> None:
        """An invariant or the state table was broken: log, alert, keep the order as it is."""
        self.alerts += 1
        log.warning("order %s: %s", cl_ord_id, message)
        if o is not None:
            record(tx.session, o, o.status, "alert", self.username, {"message": message})
        tx.events.append(OrderAlert(order_id=o.id if o else None, cl_ord_id=cl_ord_id, message=message))

    def _move(
        self, tx: _Tx, o: Order, incoming: Incoming, username: str | None, detail: dict[str, Any]
    ) -> None:
        """A desk action through the state table (InvalidTransition propagates to the caller)."""
        new = resolve(o.status, incoming, previous=o.prev_status, cum_qty=o.cum_qty, order_qty=o.quantity)
        record(tx.session, o, new, str(incoming), username or self.username, detail or None)
        self._changed(tx, o)

    # ------------------------------------------------------------------ creating

    def create(self, drafts: Sequence[OrderDraft], username: str | None = None) -> list[int]:
        """Create orders and run them through compliance: pass/warn -> released, flag -> waits for
        approval, block -> rejected. Without a checker every order waits for approval."""
        user = username or self.username
        with self._tx() as tx:
            s = tx.session
            self._allowed(s, user, "orders.create")
            accounts = {
                a.code: a
                for a in s.scalars(select(Account).where(Account.code.in_({d.account for d in drafts})))
            }
            secs = {
                x.symbol: x
                for x in s.scalars(select(Security).where(Security.symbol.in_({d.symbol for d in drafts})))
            }
            orders: list[Order] = []
            for d in drafts:
                if d.account not in accounts:
                    raise NotFound(f"account {d.account!r} does not exist")
                if d.symbol not in secs:
                    raise NotFound(f"security {d.symbol!r} does not exist")
                sec = secs[d.symbol]
                o = Order(
                    cl_ord_id=new_cl_ord_id(),
                    account_id=accounts[d.account].id,
                    proposal_id=d.proposal_id,
                    security_id=sec.id,
                    side=d.side,
                    quantity=d.quantity,
                    order_type=d.order_type,
                    limit_price=d.limit_price,
                    time_in_force=d.time_in_force,
                    currency=sec.currency,
                    broker=d.broker,
                    status=S.PENDING_APPROVAL,
                    cum_qty=Decimal(0),
                    leaves_qty=d.quantity,
                    avg_px=Decimal(0),
                    lot_instructions=[{"lot_ref": p.lot_ref, "quantity": str(p.quantity)} for p in d.lots]
                    or None,
                    created_by=user,
                )
                orders.append(o)
            # Check before writing: a refused user (PermissionDenied) leaves no order behind, and
            # the refusal's own audit transaction is not blocked by this one's writes (SQLite).
            verdicts = self._check(s, drafts, orders, user)
            s.add_all(orders)
            s.flush()
            s.add_all(ClientOrderId(cl_ord_id=o.cl_ord_id, order_id=o.id, purpose="new") for o in orders)
            for o, (outcome, messages) in zip(orders, verdicts):
                detail = {"compliance": outcome, "messages": list(messages)}
                if outcome in ("pass", "warn"):
                    record(s, o, S.RELEASED, "created", user, detail)
                elif outcome == "block":
                    record(s, o, S.REJECTED, "compliance_block", user, detail)
                else:
                    record(s, o, S.PENDING_APPROVAL, "created", user, detail)
                self._changed(tx, o)
            return [o.id for o in orders]

    def _check(
        self, s: Session, drafts: Sequence[OrderDraft], orders: Sequence[Order], user: str
    ) -> list[tuple[str, tuple[str, ...]]]:
        if self.checker is None:
            return [("flag", ("compliance checker not available: approval needed",))] * len(orders)
        intents = [
            OrderIntent(
                account=d.account,
                symbol=d.symbol,
                side=d.side,
                quantity=d.quantity,
                order_type=d.order_type,
                limit_price=d.limit_price,
                ref=o.cl_ord_id,
            )
            for d, o in zip(drafts, orders)
        ]
        by_ref = {c.ref: c for c in self.checker.check(s, intents, user)}
        out = []
        for o in orders:
            c = by_ref.get(o.cl_ord_id)
            out.append(("flag", ("no compliance verdict",)) if c is None else (c.outcome, c.messages))
        return out

    def approve(self, order_id: int, username: str | None = None) -> None:
        with self._tx() as tx:
            self._allowed(tx.session, username, "approvals.decide")
            self._move(tx, self._order(tx.session, order_id), I.APPROVE, username, {})

    # ------------------------------------------------------------------ blocks

    def build_blocks(self, order_ids: Sequence[int] | None = None, min_children: int = 2) -> list[int]:
        """Aggregate released account orders into blocks by security, side, broker and instructions
        (order type, limit, time in force). Groups smaller than `min_children` route alone.
        Children are updated in bulk (a rebalance can make tens of thousands)."""
        with self._tx() as tx:
            s = tx.session
            t = Order.__table__
            q = select(t).where(
                t.c.status == S.RELEASED, t.c.parent_id.is_(None), t.c.account_id.is_not(None)
            )
            if order_ids is not None:
                q = q.where(t.c.id.in_(order_ids))
            groups: dict[tuple[Any, ...], list[Any]] = {}
            for r in s.execute(q.order_by(t.c.id)):
                key = (r.security_id, r.side, r.broker, r.order_type, r.limit_price, r.time_in_force)
                groups.setdefault(key, []).append(r)
            codes = dict(s.execute(select(Account.id, Account.code)).all()) if groups else {}
            allowed = _allowed_accounts(s, set(codes.values())) if groups else set()
            blocks = []
            now = self.clock.now()
            for children in groups.values():
                children = [c for c in children if codes[c.account_id] in allowed]
                if len(children) < min_children:
                    continue
                first = children[0]
                total = sum((c.quantity for c in children), Decimal(0))
                block = Order(
                    cl_ord_id=new_cl_ord_id("BK"),
                    account_id=None,
                    security_id=first.security_id,
                    side=first.side,
                    quantity=total,
                    order_type=first.order_type,
                    limit_price=first.limit_price,
                    time_in_force=first.time_in_force,
                    currency=first.currency,
                    broker=first.broker,
                    status=S.RELEASED,
                    cum_qty=Decimal(0),
                    leaves_qty=total,
                    avg_px=Decimal(0),
                    created_by=self.username,
                )
                s.add(block)
                s.flush()
                s.add(ClientOrderId(cl_ord_id=block.cl_ord_id, order_id=block.id, purpose="new"))
                record(s, block, S.RELEASED, "block_created", self.username, {"children": len(children)})
                s.flush()
                s.execute(
                    update(t)
                    .where(t.c.id == bindparam("_id"))
                    .values(
                        parent_id=block.id, status=str(S.IN_BLOCK), version=t.c.version + 1, updated_at=now
                    ),
                    [{"_id": c.id} for c in children],
                )
                s.execute(
                    insert(OrderEvent.__table__),
                    [
                        {
                            "order_id": c.id,
                            "at": now,
                            "kind": str(I.AGGREGATE),
                            "status_from": c.status,
                            "status_to": str(S.IN_BLOCK),
                            "username": self.username,
                            "detail": {"block": block.cl_ord_id},
                        }
                        for c in children
                    ],
                )
                self._changed(tx, block)
                blocks.append(block.id)
            for obj in list(s.identity_map.values()):
                if isinstance(obj, Order) and obj.account_id is not None:
                    s.expire(obj)
            return blocks

    def _children(self, s: Session, block: Order) -> list[Order]:
        return list(s.scalars(select(Order).where(Order.parent_id == block.id).order_by(Order.id)))

    def _follow(self, tx: _Tx, block: Order, kind: str) -> None:
        """Children stay `in_block` while their block works (the blotter shows the block's status
        above them) and end with it: a block that ends without fills ends its children the same
        way; one with fills ends them through allocation. Done in bulk, one event row each."""
        if block.account_id is None and block.status in FINAL:
            self._set_children(tx, block, {"status": str(block.status)}, kind, {"block": block.cl_ord_id})

    def _set_children(
        self,
        tx: _Tx,
        block: Order,
        values: dict[str, Any],
        kind: str,
        detail: dict[str, Any],
        per_child: dict[int, dict[str, Any]] | None = None,
    ) -> None:
        """Update the block's live children (or those in `per_child`) with Core statements and
        append one order_events row each; ORM copies of the children are expired afterwards."""
        s = tx.session
        s.flush()
        t = Order.__table__
        rows = s.execute(
            select(t.c.id, t.c.status, t.c.cl_ord_id, t.c.quantity).where(t.c.parent_id == block.id)
        ).all()
        if per_child is None:
            rows = [r for r in rows if r.status not in FINAL and r.status != values.get("status")]
        else:
            rows = [r for r in rows if r.id in per_child and r.status not in FINAL]
        if not rows:
            return
        now = self.clock.now()
        params = []
        for r in rows:
            v = dict(values, **(per_child or {}).get(r.id, {}))
            params.append({"_id": r.id, **{f"v_{k}": x for k, x in v.items()}})
        keys = [k[2:] for k in params[0] if k.startswith("v_")]
        stmt = (
            update(t)
            .where(t.c.id == bindparam("_id"))
            .values({k: bindparam(f"v_{k}") for k in keys} | {"version": t.c.version + 1, "updated_at": now})
        )
        s.execute(stmt, params)
        s.execute(
            insert(OrderEvent.__table__),
            [
                {
                    "order_id": r.id,
                    "at": now,
                    "kind": kind,
                    "status_from": r.status,
                    "status_to": p.get("v_status", r.status),
                    "username": self.username,
                    "detail": {
                        **detail,
                        **{k[2:]: str(v) for k, v in p.items() if k.startswith("v_") and k != "v_status"},
                    },
                }
                for r, p in zip(rows, params)
            ],
        )
        for obj in list(s.identity_map.values()):
            if isinstance(obj, Order) and obj.parent_id == block.id:
                s.expire(obj)
        for r, p in zip(rows, params):
            tx.events.append(
                OrderChanged(
                    order_id=r.id,
                    cl_ord_id=r.cl_ord_id,
                    status=p.get("v_status", r.status),
                    cum_qty=p.get("v_cum_qty", Decimal(0)),
                    leaves_qty=p.get("v_leaves_qty", r.quantity),
                    avg_px=p.get("v_avg_px", Decimal(0)),
                )
            )

    # ------------------------------------------------------------------ routing

    def route(self, order_ids: Sequence[int] | None = None, *, outside_hours: bool = False) -> RouteResult:
        """Route released orders (blocks and lone account orders). An order for a closed market is
        held until its open, unless `outside_hours` (the trader's command, for brokers that take
        orders outside hours). Orders are committed as pending_new before anything is sent."""
        sent: list[int] = []
        held: list[int] = []
        skipped: list[int] = []
        with self._tx() as tx:
            s = tx.session
            q = select(Order).where(Order.status == S.RELEASED, Order.parent_id.is_(None))
            if order_ids is not None:
                q = q.where(Order.id.in_(order_ids))
            orders = list(s.scalars(q.order_by(Order.id)))
            secs = {
                x.id: x
                for x in s.scalars(select(Security).where(Security.id.in_({o.security_id for o in orders})))
            }
            codes = dict(s.execute(select(Account.id, Account.code)).all()) if orders else {}
            allowed = _allowed_accounts(s, {codes[o.account_id] for o in orders if o.account_id is not None})
            now = self.clock.now()
            for o in orders:
                sec = secs[o.security_id]
                account = codes.get(o.account_id) if o.account_id is not None else None
                if not o.broker:
                    self._alert(tx, o, o.cl_ord_id, "no broker named: cannot route")
                    skipped.append(o.id)
                    continue
                if account is not None and account not in allowed:
                    self._alert(tx, o, o.cl_ord_id, f"routing stopped for account {account} (kill switch)")
                    skipped.append(o.id)
                    continue
                release_at = None if outside_hours else self.markets.release_time(sec.mic, now)
                if release_at is not None:
                    o.release_at = release_at
                    self._move(tx, o, I.HOLD, None, {"market": sec.mic, "release_at": release_at.isoformat()})
                    self._follow(tx, o, "hold")
                    held.append(o.id)
                    continue
                o.release_at = None
                self._move(tx, o, I.SUBMIT, None, {"market": sec.mic, "outside_hours": outside_hours})
                self._follow(tx, o, "submit")
                tx.outbound.append(routing.new_order(o, sec.symbol, sec.mic, account))
                sent.append(o.id)
            # Committed here (end of block) before _tx sends: the crash hooks sit on both sides.
            outbound, tx.outbound = tx.outbound, []
        self.fault("after_commit")
        handed = self._send_all(outbound)
        if handed:
            with self.database.transaction() as s:
                stamp = self.clock.now()
                for o in s.scalars(select(Order).where(Order.cl_ord_id.in_(handed))):
                    o.sent_at = o.sent_at or stamp
        self.fault("after_send")
        return RouteResult(sent, held, skipped)

    def release_due(self) -> list[int]:
        """Release held orders whose market has opened (by the injected clock) and route them."""
        now = self.clock.now()
        with self._tx() as tx:
            due = list(
                tx.session.scalars(
                    select(Order).where(Order.status == S.HELD, Order.release_at <= now).order_by(Order.id)
                )
            )
            for o in due:
                self._move(tx, o, I.RELEASE, None, {"at": now.isoformat(), "why": "market open"})
                self._follow(tx, o, "release")
            ids = [o.id for o in due]
        if ids:
            self.route(ids)
        return ids

    def release_now(self, order_ids: Sequence[int], username: str | None = None) -> RouteResult:
        """The trader's command (Ctrl+L) on held orders. An order held for its market's open is sent
        now (for brokers that accept orders out of hours). A working order whose replace compliance
        held gets that replace asked for again (engine.oms.recheck.held_replace): it goes out once
        the approval case is approved, and is refused (in `refused`, or ReplaceHeld when nothing
        went out) while the case is pending or after a rejection."""
        market_held: list[int] = []
        replaces: dict[int, HeldReplace] = {}
        with self._tx() as tx:
            self._allowed(tx.session, username, "orders.release")
            for oid in order_ids:
                o = self._order(tx.session, oid)
                waiting = None if o.status == S.HELD else held_replace(tx.session, oid)
                if waiting is not None:
                    replaces[oid] = waiting
                    continue
                if o.status != S.HELD:
                    raise OrderRejected(f"order {o.cl_ord_id} is {o.status}: it holds nothing to release")
                self._move(tx, o, I.RELEASE, username, {"why": "trader's command"})
                self._follow(tx, o, "release")
                market_held.append(oid)
        result = self.route(market_held, outside_hours=True) if market_held else RouteResult([], [], [])
        sent, refused = list(result.sent), dict(result.refused)
        for oid, r in replaces.items():
            try:
                self.replace(oid, r.quantity, r.limit_price, username)
                sent.append(oid)
            except ReplaceHeld as exc:
                refused[oid] = str(exc)
        if refused and not sent and not result.held:
            raise ReplaceHeld("; ".join(refused.values()))
        return RouteResult(sent, result.held, result.skipped, refused)

    # ------------------------------------------------------------------ working orders

    def _order(self, s: Session, order_id: int) -> Order:
        o = s.get(Order, order_id)
        if o is None:
            raise NotFound(f"order {order_id} does not exist")
        return o

    def _symbol(self, s: Session, o: Order) -> Security:
        sec = s.get(Security, o.security_id)
        assert sec is not None
        return sec

    def cancel(self, order_id: int, username: str | None = None) -> None:
        """Cancel an order (a block's cancel goes to its children). Unsent orders cancel locally."""
        with self._tx() as tx:
            s = tx.session
            self._allowed(s, username, "orders.route")
            o = self._order(s, order_id)
            if o.parent_id is not None:
                self._leave_block(tx, o, username)
                return
            if o.status in LOCAL:
                self._move(tx, o, I.CANCEL_REQUEST, username, {"local": True})
                self._follow(tx, o, "cancel")
                return
            try:
                new = resolve(o.status, I.CANCEL_REQUEST)
            except InvalidTransition:
                raise OrderRejected(f"order {o.cl_ord_id} is {o.status}: it cannot be cancelled") from None
            cid = new_cl_ord_id("CX")
            s.add(ClientOrderId(cl_ord_id=cid, order_id=o.id, purpose="cancel", orig_cl_ord_id=o.cl_ord_id))
            o.prev_status = o.status
            record(s, o, new, str(I.CANCEL_REQUEST), username or self.username, {"cl_ord_id": cid})
            self._follow(tx, o, "cancel_request")
            self._changed(tx, o)
            tx.outbound.append(routing.cancel_order(o, cid, self._symbol(s, o).symbol))

    def _leave_block(self, tx: _Tx, o: Order, username: str | None) -> None:
        """Cancel a child of a block that has not been sent: it leaves the block, which shrinks."""
        block = self._order(tx.session, o.parent_id or 0)
        if block.status not in LOCAL:
            raise OrderRejected(
                f"order {o.cl_ord_id} is part of working block {block.cl_ord_id}: cancel or reduce the block"
            )
        block.quantity -= o.quantity
        block.leaves_qty = block.quantity
        o.parent_id = None
        self._move(tx, o, I.CANCEL_REQUEST, username, {"left_block": block.cl_ord_id})
        record(
            tx.session, block, block.status, "child_left", username or self.username, {"child": o.cl_ord_id}
        )
        if block.quantity <= 0:
            self._move(tx, block, I.CANCEL_REQUEST, username, {"why": "no children left"})

    def replace(
        self,
        order_id: int,
        quantity: Decimal | None = None,
        limit_price: Decimal | None = None,
        username: str | None = None,
    ) -> str:
        """Cancel/replace a working order (new ClOrdID, OrigClOrdID = the current one).

        A loosened replace (quantity up, limit looser or removed) is re-checked by compliance first;
        if it no longer passes, nothing is sent, the order keeps working on its previous terms, a
        `replace_held` order event records why, and ReplaceHeld is raised after the commit."""
        user = username or self.username
        held: str | None = None
        cid = cl_ord_id = ""
        with self._tx() as tx:
            s = tx.session
            self._allowed(s, user, "orders.route")
            o = self._order(s, order_id)
            qty = o.quantity if quantity is None else quantity
            px = o.limit_price if limit_price is None else limit_price
            if qty <= o.cum_qty:
                raise OrderRejected(f"order {o.cl_ord_id}: new quantity {qty} must exceed filled {o.cum_qty}")
            if o.account_id is None and qty > o.quantity:
                raise OrderRejected(f"block {o.cl_ord_id}: a block can only be reduced (its children fix it)")
            if o.order_type == "limit" and (px is None or px <= 0):
                raise OrderRejected(f"order {o.cl_ord_id}: a limit order needs a positive limit price")
            try:
                new = resolve(o.status, I.REPLACE_REQUEST)
            except InvalidTransition:
                raise OrderRejected(f"order {o.cl_ord_id} is {o.status}: it cannot be replaced") from None
            refusals = self._recheck(s, o, qty, px, user)
            if refusals:
                held = "; ".join(refusals)
                detail = {
                    "quantity": str(qty),
                    "limit_price": None if px is None else str(px),
                    "reason": held,
                }
                record(s, o, o.status, "replace_held", user, detail)
                self._changed(tx, o)
                cl_ord_id = o.cl_ord_id
            else:
                cid = new_cl_ord_id("RP")
                s.add(
                    ClientOrderId(
                        cl_ord_id=cid,
                        order_id=o.id,
                        purpose="replace",
                        orig_cl_ord_id=o.cl_ord_id,
                        quantity=qty,
                        limit_price=px,
                    )
                )
                o.prev_status = o.status
                detail = {
                    "cl_ord_id": cid,
                    "quantity": str(qty),
                    "limit_price": None if px is None else str(px),
                }
                record(s, o, new, str(I.REPLACE_REQUEST), user, detail)
                self._follow(tx, o, "replace_request")
                self._changed(tx, o)
                sec = self._symbol(s, o)
                tx.outbound.append(routing.replace_order(o, cid, sec.symbol, sec.mic, qty, px))
        if held is not None:
            raise ReplaceHeld(f"order {cl_ord_id}: replace not sent, held for compliance approval: {held}")
        return cid

    def _recheck(self, s: Session, o: Order, qty: Decimal, px: Decimal | None, user: str) -> list[str]:
        """Why the new terms may not route: an engaged kill switch over any of its accounts (a replace
        is routing, however tight), then each loosened account order (a block's children) that
        compliance's re-check refuses. Tighter terms need no re-check. Cancels are never stopped."""
        orders = [o] if o.account_id is not None else self._children(s, o)
        if not orders:
            return []
        codes = dict(
            s.execute(
                select(Account.id, Account.code).where(Account.id.in_({c.account_id for c in orders}))
            ).all()
        )
        stopped = sorted(set(codes.values()) - _allowed_accounts(s, set(codes.values())))
        if stopped:
            return [f"routing stopped for account {code} (kill switch)" for code in stopped]
        symbol = self._symbol(s, o).symbol
        out = []
        for c in orders:
            code = codes[c.account_id]
            before = OrderIntent(code, symbol, c.side, c.quantity, c.order_type, c.limit_price, ref=str(c.id))
            after = OrderIntent(
                code, symbol, c.side, qty if c is o else c.quantity, c.order_type, px, ref=str(c.id)
            )
            why = loosened(before, after)
            if why is None:
                continue
            if self.recheck is None:
                out.append(f"{code}: {why}; no compliance re-check available")
                continue
            verdict = self.recheck(s, c.id, before, after, user)
            if not verdict.ok:
                out.append(verdict.reason or f"{code}: {why}")
        return out

    def reconcile(self, broker: str) -> int:
        """Ask `broker` for the status of every order sent to it and not final."""
        with self._tx() as tx:
            s = tx.session
            orders = s.scalars(
                select(Order).where(
                    Order.broker == broker, Order.status.in_(AT_BROKER), Order.parent_id.is_(None)
                )
            ).all()
            for o in orders:
                tx.outbound.append(routing.status_request(o, self._symbol(s, o).symbol))
                record(s, o, o.status, "status_request", self.username, None)
            return len(orders)

    # ------------------------------------------------------------------ broker messages

    def apply(self, message: Inbound) -> None:
        """Apply one broker message (on the engine thread). Never raises for bad broker data."""
        if isinstance(message, SessionState):
            self._session(message)
            return
        with self._tx() as tx:
            if isinstance(message, ExecReport):
                self._exec(tx, message)
            elif isinstance(message, CancelReject):
                self._cancel_reject(tx, message)

    def apply_batch(self, messages: Sequence[Inbound]) -> None:
        """Apply many broker messages in one transaction, each in its own savepoint: one bad
        message is logged, alerted and skipped, the others are kept. Session changes are applied
        after. A transient database error (engine.oms.retry) is raised, never skipped: the whole
        transaction rolls back and the caller (engine.oms.loop) applies the batch again."""
        later = [m for m in messages if isinstance(m, SessionState)]
        with self._tx() as tx:
            for m in messages:
                if isinstance(m, SessionState):
                    continue
                try:
                    with tx.session.begin_nested():
                        if isinstance(m, ExecReport):
                            self._exec(tx, m)
                        elif isinstance(m, CancelReject):
                            self._cancel_reject(tx, m)
                except Exception as exc:
                    if is_transient(exc):  # issue 13 (wire): retried by the loop, never dropped
                        raise
                    log.exception("failed to apply %r", m)
                    self._alert(tx, None, getattr(m, "cl_ord_id", ""), f"could not apply {m!r}: {exc}")
        for m in later:
            self._session(m)

    def _session(self, m: SessionState) -> None:
        self.sessions[m.broker] = m
        self.bus.publish(
            BrokerSessionChanged(
                broker=m.broker,
                logged_on=m.logged_on,
                next_sender_seq=m.next_sender_seq,
                next_target_seq=m.next_target_seq,
                kind=m.kind,
            )
        )
        if m.kind == "logon":
            self.reconcile(m.broker)

    def _find(
        self, s: Session, cl_ord_id: str | None, orig: str | None
    ) -> tuple[Order | None, ClientOrderId | None]:
        for key in (cl_ord_id, orig):
            if key:
                link = s.get(ClientOrderId, key)
                if link is not None:
                    return s.get(Order, link.order_id), link
        return None, None

    def _exec(self, tx: _Tx, r: ExecReport) -> None:
        s = tx.session
        dup = s.scalar(
            select(Execution.id).where(Execution.broker == r.broker, Execution.exec_id == r.exec_id)
        )
        if dup is not None:
            self.duplicates += 1
            log.info("duplicate ExecID %s from %s ignored (PossDup=%s)", r.exec_id, r.broker, r.poss_dup)
            return
        o, _ = self._find(s, r.cl_ord_id, r.orig_cl_ord_id)
        if o is None:
            self._alert(tx, None, r.cl_ord_id, f"execution report {r.exec_id} for an unknown ClOrdID")
            return
        s.add(
            Execution(
                order_id=o.id,
                broker=r.broker,
                exec_id=r.exec_id,
                exec_type=r.exec_type,
                ord_status=r.ord_status,
                last_qty=r.last_qty,
                last_px=r.last_px,
                cum_qty=r.cum_qty,
                leaves_qty=r.leaves_qty,
                avg_px=r.avg_px,
                transact_time=r.transact_time,
                received_at=r.received_at,
                text=r.text,
            )
        )
        if r.broker_order_id and not o.broker_order_id:
            o.broker_order_id = r.broker_order_id
        if r.unknown_order:
            self._unknown(tx, o, r)
            return
        if r.exec_type == "F":
            incoming = I.FULL_FILL if r.leaves_qty == 0 or r.ord_status == "2" else I.PARTIAL_FILL
            self._fill(tx, o, r)
        elif r.exec_type in EXEC_TYPE_INCOMING:
            incoming = EXEC_TYPE_INCOMING[r.exec_type]
        else:
            self._alert(tx, o, o.cl_ord_id, f"ExecType {r.exec_type!r} not handled (ExecID {r.exec_id})")
            return
        if incoming == I.REPLACED:
            self._take_replacement(tx, o, r)
        broker_status = FIX_ORD_STATUS.get(r.ord_status)
        try:
            new = resolve(
                o.status,
                incoming,
                previous=o.prev_status,
                broker_status=broker_status,
                cum_qty=o.cum_qty,
                order_qty=o.quantity,
            )
        except InvalidTransition as exc:
            self._alert(tx, o, o.cl_ord_id, f"{exc} (ExecID {r.exec_id}); status kept")
            new = S(o.status)
        if (
            incoming == I.ORDER_STATUS
            and o.status in (S.PENDING_CANCEL, S.PENDING_REPLACE)
            and new
            in (
                S.NEW,
                S.PARTIALLY_FILLED,
            )
        ):
            # The broker holds the order live and never got our request (lost in a crash or a
            # dropped connection): ask again with a fresh ClOrdID and stay pending.
            self._reissue(tx, o)
            new = S(o.status)
        if new not in (S.PENDING_CANCEL, S.PENDING_REPLACE):
            o.prev_status = None
        o.leaves_qty = (
            Decimal(0) if new in FINAL or new == S.DONE_FOR_DAY else max(o.quantity - o.cum_qty, Decimal(0))
        )
        self._check_invariants(tx, o, r, new)
        detail = {
            "exec_id": r.exec_id,
            "exec_type": r.exec_type,
            "ord_status": r.ord_status,
            "last_qty": str(r.last_qty),
            "last_px": str(r.last_px),
            "poss_dup": r.poss_dup,
        }
        if r.text:
            detail["text"] = r.text
        record(s, o, new, f"exec:{incoming}", None, detail)
        self._changed(tx, o)
        if new in FINAL:
            self._allocate(tx, o, r)

    def _fill(self, tx: _Tx, o: Order, r: ExecReport) -> None:
        """Add a fill: CumQty grows by LastQty, AvgPx is the quantity-weighted mean of all fills."""
        if r.last_qty <= 0 or r.last_px <= 0:
            self._alert(
                tx, o, o.cl_ord_id, f"fill {r.exec_id} with LastQty {r.last_qty} at {r.last_px}: ignored"
            )
            return
        tx.session.flush()
        fills = tx.session.execute(
            select(Execution.last_qty, Execution.last_px).where(
                Execution.order_id == o.id, Execution.exec_type == "F", Execution.last_qty > 0
            )
        ).all()
        cum = sum((Decimal(str(q)) for q, _ in fills), Decimal(0))
        notional = sum((Decimal(str(q)) * Decimal(str(p)) for q, p in fills), Decimal(0))
        if cum > o.quantity:
            self._alert(tx, o, o.cl_ord_id, f"overfill: CumQty {cum} exceeds OrderQty {o.quantity}")
        o.cum_qty = cum
        o.avg_px = (notional / cum).quantize(PX)

    def _check_invariants(self, tx: _Tx, o: Order, r: ExecReport, new: S) -> None:
        """Our quantities against the broker's view; a mismatch is alerted, never fatal."""
        problems = []
        if r.cum_qty != o.cum_qty:
            problems.append(f"broker CumQty {r.cum_qty} but fills add up to {o.cum_qty}")
        elif o.cum_qty > 0 and abs(r.avg_px - o.avg_px) > Decimal("0.0001"):
            problems.append(f"broker AvgPx {r.avg_px} but fills average {o.avg_px}")
        if new not in FINAL and new != S.DONE_FOR_DAY and o.cum_qty + o.leaves_qty != o.quantity:
            problems.append(f"CumQty {o.cum_qty} + LeavesQty {o.leaves_qty} != OrderQty {o.quantity}")
        for p in problems:
            self._alert(tx, o, o.cl_ord_id, f"{p} (ExecID {r.exec_id})")

    def _unknown(self, tx: _Tx, o: Order, r: ExecReport) -> None:
        """The broker never got this order: it was committed but the send was lost. Send it again,
        under the same ClOrdID (a broker refuses a ClOrdID twice, so it cannot execute twice)."""
        if o.status == S.PENDING_NEW and o.cum_qty == 0:
            if resent_since_asked(tx.session, o.id):  # issue 13 (wire): one resend per round of asks
                log.info("order %s already sent again since the last status request", o.cl_ord_id)
                return
            sec = self._symbol(tx.session, o)
            account = None
            if o.account_id is not None:
                acc = tx.session.get(Account, o.account_id)
                account = acc.code if acc else None
            record(tx.session, o, o.status, "resend", None, {"reason": "broker does not know the order"})
            tx.outbound.append(routing.new_order(o, sec.symbol, sec.mic, account))
        else:
            self._alert(tx, o, o.cl_ord_id, f"broker says it does not know this {o.status} order")

    def _reissue(self, tx: _Tx, o: Order) -> None:
        s = tx.session
        last = s.scalars(
            select(ClientOrderId)
            .where(ClientOrderId.order_id == o.id, ClientOrderId.purpose.in_(("cancel", "replace")))
            .order_by(ClientOrderId.created_at.desc())
        ).first()
        sec = self._symbol(s, o)
        if o.status == S.PENDING_CANCEL:
            cid = new_cl_ord_id("CX")
            s.add(ClientOrderId(cl_ord_id=cid, order_id=o.id, purpose="cancel", orig_cl_ord_id=o.cl_ord_id))
            tx.outbound.append(routing.cancel_order(o, cid, sec.symbol))
        elif last is not None and last.quantity is not None:
            cid = new_cl_ord_id("RP")
            s.add(
                ClientOrderId(
                    cl_ord_id=cid,
                    order_id=o.id,
                    purpose="replace",
                    orig_cl_ord_id=o.cl_ord_id,
                    quantity=last.quantity,
                    limit_price=last.limit_price,
                )
            )
            tx.outbound.append(
                routing.replace_order(o, cid, sec.symbol, sec.mic, last.quantity, last.limit_price)
            )
        record(s, o, o.status, "request_reissued", None, None)

    def _take_replacement(self, tx: _Tx, o: Order, r: ExecReport) -> None:
        """The broker replaced the order: it continues under the new ClOrdID with the new terms."""
        link = tx.session.get(ClientOrderId, r.cl_ord_id)
        if link is None or link.purpose != "replace" or link.order_id != o.id:
            self._alert(tx, o, o.cl_ord_id, f"Replaced for {r.cl_ord_id}, which is not our replace request")
            return
        old = o.cl_ord_id
        record(
            tx.session,
            o,
            S.REPLACED,
            "replaced",
            None,
            {"old_cl_ord_id": old, "new_cl_ord_id": link.cl_ord_id},
        )
        o.status = S.PENDING_REPLACE  # the superseded ClOrdID is replaced; the order continues
        o.orig_cl_ord_id = old
        o.cl_ord_id = link.cl_ord_id
        if link.quantity is not None:
            if o.account_id is None and link.quantity != o.quantity:
                self._resize_children(tx, o, link.quantity)
            o.quantity = link.quantity
        o.limit_price = link.limit_price
        if o.account_id is None:
            for c in self._children(tx.session, o):
                c.limit_price = link.limit_price

    def _resize_children(self, tx: _Tx, block: Order, quantity: Decimal) -> None:
        """A block replaced to a smaller size: its children shrink pro rata, in round lots."""
        sec = self._symbol(tx.session, block)
        children = self._children(tx.session, block)
        sizes = pro_rata(
            quantity,
            [Want(c.cl_ord_id, c.quantity) for c in children],
            Decimal(sec.lot_size),
            block.cl_ord_id,
        )
        for c in children:
            if sizes[c.cl_ord_id] != c.quantity:
                detail = {"from": str(c.quantity), "to": str(sizes[c.cl_ord_id]), "block": block.cl_ord_id}
                c.quantity = sizes[c.cl_ord_id]
                c.leaves_qty = c.quantity
                record(tx.session, c, c.status, "resized", None, detail)

    def _cancel_reject(self, tx: _Tx, m: CancelReject) -> None:
        o, _ = self._find(tx.session, m.cl_ord_id, m.orig_cl_ord_id)
        if o is None:
            self._alert(tx, None, m.cl_ord_id, "cancel reject for an unknown ClOrdID")
            return
        try:
            new = resolve(
                o.status, I.CANCEL_REJECT, previous=o.prev_status, cum_qty=o.cum_qty, order_qty=o.quantity
            )
        except InvalidTransition as exc:
            self._alert(tx, o, o.cl_ord_id, f"{exc}; status kept")
            new = S(o.status)
        o.prev_status = None
        detail = {"cl_ord_id": m.cl_ord_id, "response_to": m.response_to, "reason": m.reason, "text": m.text}
        record(tx.session, o, new, str(I.CANCEL_REJECT), None, detail)
        self._follow(tx, o, "block:cancel_reject")
        self._changed(tx, o)

    # ------------------------------------------------------------------ allocation

    def _allocate(self, tx: _Tx, o: Order, r: ExecReport) -> None:
        """Give a finished order's fills to its accounts (a block's children, or the order's own
        account) at the average price, and book each through accounting. Runs once per order.

        An FX spot order (asset class fx_spot, EURUSD) settles on the pair's spot date (both
        currencies' calendars) and books two cash legs (engine.accounting.fxspot), never lots."""
        s = tx.session
        if s.scalar(select(Allocation.id).where(Allocation.block_id == o.id).limit(1)) is not None:
            return
        sec = self._symbol(s, o)
        fx = fx_pair(sec.symbol) if sec.asset_class == FX_ASSET_CLASS else None
        s.flush()
        t = Order.__table__
        if o.account_id is None:
            children = s.execute(
                select(t.c.id, t.c.cl_ord_id, t.c.quantity, t.c.account_id, t.c.side, t.c.lot_instructions)
                .where(t.c.parent_id == o.id)
                .order_by(t.c.id)
            ).all()
            lot = Decimal(sec.lot_size or 1)
            shares = pro_rata(o.cum_qty, [Want(c.cl_ord_id, c.quantity) for c in children], lot, o.cl_ord_id)
        else:
            children = [_Child(o.id, o.cl_ord_id, o.quantity, o.account_id, o.side, o.lot_instructions)]
            shares = {o.cl_ord_id: o.cum_qty}
        when = r.transact_time or self.clock.now()
        trade_date = self._session_date(sec.mic, when)
        settle_date = (
            self._fx_settle_date(fx, trade_date) if fx else self._settle_date(s, sec.mic, trade_date)
        )
        ids = {c.account_id for c in children}
        codes = dict(s.execute(select(Account.id, Account.code).where(Account.id.in_(ids))).all())
        now = self.clock.now()
        allocs = []
        for c in children:
            qty = shares[c.cl_ord_id]
            if qty <= 0 or c.account_id is None:
                continue
            allocs.append(
                {
                    "block_id": o.id,
                    "child_id": c.id,
                    "account_id": c.account_id,
                    "quantity": qty,
                    "avg_px": o.avg_px,
                    "trade_date": trade_date,
                    "settle_date": settle_date,
                    "source_ref": f"{o.cl_ord_id}/{c.cl_ord_id}",
                    "booked_at": None,
                    "created_at": now,
                    "_child": c,
                }
            )
        if self.booker is not None and allocs:
            self._book_all(tx, allocs, sec.symbol, codes, o.avg_px, trade_date, settle_date, now, fx)
        for a in allocs:
            del a["_child"]
        if allocs:
            s.execute(insert(Allocation.__table__), allocs)
        o.trade_date = trade_date
        if o.account_id is None:
            per_child = {
                c.id: {
                    "cum_qty": shares[c.cl_ord_id],
                    "avg_px": o.avg_px if shares[c.cl_ord_id] > 0 else Decimal(0),
                    "leaves_qty": Decimal(0),
                    "trade_date": trade_date,
                    "status": str(S.FILLED if shares[c.cl_ord_id] == c.quantity else S(o.status)),
                }
                for c in children
            }
            self._set_children(tx, o, {}, "allocated", {"block": o.cl_ord_id}, per_child)

    def _book_all(
        self,
        tx: _Tx,
        allocs: list[dict[str, Any]],
        symbol: str,
        codes: dict[int, str],
        price: Decimal,
        trade_date: date,
        settle_date: date | None,
        now: datetime,
        fx: tuple[str, str] | None = None,
    ) -> None:
        """Book every allocation in one savepoint; if accounting refuses any, book them one by one
        so that only the refused ones wait unbooked (each with an alert)."""
        assert self.booker is not None
        args = [
            (a, a["_child"], codes[a["_child"].account_id], a["quantity"], a["source_ref"]) for a in allocs
        ]
        try:
            with tx.session.begin_nested():
                for _, c, account, qty, ref in args:
                    fill = self._fill_of(c, symbol, account, qty, price, trade_date, settle_date, ref)
                    self._post(tx.session, fill, fx)
        except Exception:
            for a, c, account, qty, ref in args:
                if self._book(tx, c, symbol, account, qty, price, trade_date, settle_date, ref, fx):
                    a["booked_at"] = now
            return
        for a in allocs:
            a["booked_at"] = now

    @staticmethod
    def _fill_of(
        c: Any,
        symbol: str,
        account: str,
        qty: Decimal,
        price: Decimal,
        trade_date: date,
        settle_date: date | None,
        ref: str,
    ) -> TradeFill:
        picks = (
            tuple(LotPick(r, q) for r, q in pick_lots(c.lot_instructions, qty)) if c.side == "sell" else ()
        )
        return TradeFill(
            account=account,
            symbol=symbol,
            side=Side(c.side),
            quantity=qty,
            price=price,
            trade_date=trade_date,
            source_ref=ref,
            settle_date=settle_date,
            lots=picks,
        )

    def _book(
        self,
        tx: _Tx,
        c: Any,
        symbol: str,
        account: str,
        qty: Decimal,
        price: Decimal,
        trade_date: date,
        settle_date: date | None,
        ref: str,
        fx: tuple[str, str] | None = None,
    ) -> bool:
        """Book one allocation through accounting in a savepoint: if accounting refuses, the fill
        stays recorded and the allocation waits unbooked (booked_at empty), with an alert."""
        assert self.booker is not None
        fill = self._fill_of(c, symbol, account, qty, price, trade_date, settle_date, ref)
        try:
            with tx.session.begin_nested():
                self._post(tx.session, fill, fx)
        except Exception as exc:
            self.alerts += 1
            message = f"allocation {ref} not booked: {exc}"
            log.warning("order %s: %s", c.cl_ord_id, message)
            tx.events.append(OrderAlert(order_id=c.id, cl_ord_id=c.cl_ord_id, message=message))
            return False
        return True

    def _post(self, session: Session, fill: TradeFill, fx: tuple[str, str] | None) -> None:
        """One allocation into accounting: lots and cash through the booker, or FX spot cash legs."""
        assert self.booker is not None
        if fx is None:
            self.booker.book(session, fill)
        else:
            book_fx_fill(session, fill, *fx)

    def _fx_settle_date(self, pair: tuple[str, str], trade_date: date) -> date | None:
        """The pair's spot value date, or None (accounting then refuses it and the allocation waits)."""
        try:
            return fx_settle_date(pair[0], pair[1], trade_date)
        except NotFound:
            return None

    def _session_date(self, mic: str, when: datetime) -> date:
        key = (mic, when.replace(second=0, microsecond=0))
        if key not in self._dates:
            self._dates[key] = self.markets.session_date(mic, when)
        return self._dates[key]

    def _settle_date(self, s: Session, mic: str, trade_date: date) -> date | None:
        cycle = s.scalars(
            select(SettlementCycle)
            .where(SettlementCycle.mic == mic, SettlementCycle.effective_from <= trade_date)
            .order_by(SettlementCycle.effective_from.desc())
        ).first()
        if cycle is None:
            return None
        key = (mic, trade_date, cycle.days)
        if key not in self._settles:
            self._settles[key] = self.markets.add_sessions(mic, trade_date, cycle.days)
        return self._settles[key]
