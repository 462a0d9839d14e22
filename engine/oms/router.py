"""Routing: released orders go to their brokers (held for a closed market until its open), held
orders are released at the open or on the trader's command, and brokers are asked for status.

An order is committed as pending_new BEFORE it is handed to a FIX session, so a crash can lose a
send but never an order (see engine.oms.executions for what happens at the next logon).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from engine.oms import routing
from engine.oms.blocks import Blocks
from engine.oms.commands import Commands
from engine.oms.context import OmsContext, Tx
from engine.oms.controls import guarded
from engine.oms.errors import ControlFailed, OrderRejected, ReplaceHeld
from engine.oms.messages import NewOrder
from engine.oms.recheck import HeldReplace, held_replace
from engine.oms.rotation import rotate
from engine.oms.status import AT_BROKER, OrderStatus
from engine.oms.strategies import strategy_problems
from engine.oms.tables import Order
from engine.oms.transitions import Incoming
from engine.store.accounts import Account
from engine.store.reference import Security

S = OrderStatus
I = Incoming  # noqa: E741


@dataclass(frozen=True)
class RouteResult:
    sent: list[int]
    held: list[int]
    skipped: list[int]
    refused: dict[int, str] = field(default_factory=dict)
    """Held replaces the trader released that compliance still holds: order id -> why."""


class Router:
    """Sends released orders and releases held ones."""

    def __init__(self, ctx: OmsContext, blocks: Blocks, commands: Commands) -> None:
        self.ctx = ctx
        self.blocks = blocks
        self.commands = commands

    @staticmethod
    def checkpoint(point: str) -> None:
        """Between commit and send ("after_commit") and after the send ("after_send"): nothing
        happens here. Crash tests replace this in their own process (tests/connectors/fix)."""

    def route(
        self,
        order_ids: Sequence[int] | None = None,
        *,
        outside_hours: bool = False,
        username: str | None = None,
        broker: str | None = None,
    ) -> RouteResult:
        """Route released orders (blocks and lone account orders). An order for a closed market is
        held until its open, unless `outside_hours` (the trader's command, for brokers that take
        orders outside hours). Orders are committed as pending_new before anything is sent.
        `broker`: the trader's choice of session for these orders (a block's children follow it),
        recorded on each order's event; an order whose strategy that broker lacks is refused.
        A kill switch that cannot answer refuses the whole route (ControlFailed, nothing sent).
        `username`: a desk user's command, refused without orders.route (audited, nothing routed);
        without it the OMS itself routes (the headless OMS, release_due)."""
        ctx = self.ctx
        sent: list[int] = []
        held: list[int] = []
        skipped: list[int] = []
        with ctx.tx() as tx:
            s = tx.session
            if username is not None:
                ctx.allowed(s, username, "orders.route")
            q = select(Order).where(Order.status == S.RELEASED, Order.parent_id.is_(None))
            if order_ids is not None:
                q = q.where(Order.id.in_(order_ids))
            orders = list(s.scalars(q.order_by(Order.id)))
            secs = {
                x.id: x
                for x in s.scalars(select(Security).where(Security.id.in_({o.security_id for o in orders})))
            }
            account_ids = {o.account_id for o in orders if o.account_id is not None}
            codes = (
                dict(s.execute(select(Account.id, Account.code).where(Account.id.in_(account_ids))).all())
                if account_ids
                else {}
            )
            allowed = ctx.routable(s, {codes[o.account_id] for o in orders if o.account_id is not None})
            traders = ctx.stopped_traders(s, {o.created_by for o in orders if o.created_by})
            now = ctx.clock.now()
            sends: list[tuple[Order, NewOrder]] = []
            for o in orders:
                sec = secs[o.security_id]
                account = codes.get(o.account_id) if o.account_id is not None else None
                if broker is not None and broker != o.broker:
                    why = self._rebroker(tx, o, broker, username)
                    if why is not None:
                        ctx.alert(tx, o, o.cl_ord_id, why)
                        skipped.append(o.id)
                        continue
                if not o.broker:
                    ctx.alert(tx, o, o.cl_ord_id, "no broker named: cannot route")
                    skipped.append(o.id)
                    continue
                if account is not None and account not in allowed:
                    ctx.alert(tx, o, o.cl_ord_id, f"routing stopped for account {account} (kill switch)")
                    skipped.append(o.id)
                    continue
                if o.created_by in traders:
                    ctx.alert(tx, o, o.cl_ord_id, f"routing stopped for trader {o.created_by} (kill switch)")
                    skipped.append(o.id)
                    continue
                release_at = None if outside_hours else ctx.release_time(sec.mic, now)
                if release_at is not None:
                    o.release_at = release_at
                    ctx.move(tx, o, I.HOLD, None, {"market": sec.mic, "release_at": release_at.isoformat()})
                    self.blocks.follow(tx, o, "hold")
                    held.append(o.id)
                    continue
                o.release_at = None
                ctx.move(tx, o, I.SUBMIT, None, {"market": sec.mic, "outside_hours": outside_hours})
                self.blocks.follow(tx, o, "submit")
                sends.append((o, routing.new_order(o, sec.symbol, sec.mic, account)))
            # Several brokers for one security and side: their orders go in rotation (engine.oms.rotation).
            for o, message in rotate(s, sends, now):
                tx.outbound.append(message)
                sent.append(o.id)
            # Committed here (end of block) before tx sends: the crash checkpoints sit on both sides.
            outbound, tx.outbound = tx.outbound, []
        self.checkpoint("after_commit")
        handed = ctx.send_all(outbound)
        if handed:
            ctx.stamp_sent(handed)
        self.checkpoint("after_send")
        return RouteResult(sent, held, skipped)

    def _rebroker(self, tx: Tx, o: Order, broker: str, username: str | None) -> str | None:
        """Point a released order (and a block's children) at `broker`; why not, if it cannot go."""
        if not broker.strip():
            return "no broker named: cannot route"
        bad = strategy_problems(
            broker, o.strategy, dict(o.strategy_params or {}), o.order_type, o.time_in_force
        )
        if bad:
            return f"cannot route to {broker}: " + "; ".join(reason for _f, reason in bad)
        before = o.broker
        o.broker = broker
        for c in self.blocks.children(tx.session, o):
            c.broker = broker
        self.ctx.fire(tx, o, "rebrokered", username, {"broker": broker, "was": before})
        return None

    def release_approved(self) -> list[int]:
        """Orders waiting for approval whose case a reviewer approved move to released."""
        ctx = self.ctx
        with ctx.tx() as tx:
            s = tx.session
            waiting = list(
                s.scalars(
                    select(Order)
                    .where(Order.status == S.PENDING_APPROVAL, Order.parent_id.is_(None))
                    .order_by(Order.id)
                )
            )
            if not waiting:
                return []
            with guarded("the approval cases"):
                ok = ctx.cases.approved(s, [o.id for o in waiting])
            for o in waiting:
                if o.id in ok:
                    ctx.move(tx, o, I.APPROVE, None, {"why": "approval case approved"})
            return sorted(ok)

    def release_due(self) -> list[int]:
        """Release orders whose approval case was approved, and held orders whose market has opened
        (by the injected clock), and route them."""
        try:
            approved = self.release_approved()
        except ControlFailed:  # logged by the control: nothing is released while it fails
            approved = []
        now = self.ctx.clock.now()
        with self.ctx.tx() as tx:
            due = list(
                tx.session.scalars(
                    select(Order).where(Order.status == S.HELD, Order.release_at <= now).order_by(Order.id)
                )
            )
            for o in due:
                self.ctx.move(tx, o, I.RELEASE, None, {"at": now.isoformat(), "why": "market open"})
                self.blocks.follow(tx, o, "release")
            ids = [o.id for o in due]
        if ids or approved:
            self.route(ids + approved)
        return ids

    def release_now(self, order_ids: Sequence[int], username: str | None = None) -> RouteResult:
        """The trader's command (Ctrl+L) on held orders. An order held for its market's open is sent
        now (for brokers that accept orders out of hours). A working order whose replace compliance
        held gets that replace asked for again (engine.oms.recheck.held_replace): it goes out once
        the approval case is approved, and is refused (in `refused`, or ReplaceHeld when nothing
        went out) while the case is pending or after a rejection."""
        ctx = self.ctx
        market_held: list[int] = []
        replaces: dict[int, HeldReplace] = {}
        with ctx.tx() as tx:
            ctx.allowed(tx.session, username, "orders.release")
            for oid in order_ids:
                o = ctx.order(tx.session, oid)
                waiting = None if o.status == S.HELD else held_replace(tx.session, oid)
                if waiting is not None:
                    replaces[oid] = waiting
                    continue
                if o.status != S.HELD:
                    raise OrderRejected(f"order {o.cl_ord_id} is {o.status}: it holds nothing to release")
                ctx.move(tx, o, I.RELEASE, username, {"why": "trader's command"})
                self.blocks.follow(tx, o, "release")
                market_held.append(oid)
        result = self.route(market_held, outside_hours=True) if market_held else RouteResult([], [], [])
        sent, refused = list(result.sent), dict(result.refused)
        for oid, r in replaces.items():
            try:
                self.commands.replace(oid, r.quantity, r.limit_price, username)
                sent.append(oid)
            except ReplaceHeld as exc:
                refused[oid] = str(exc)
        if refused and not sent and not result.held:
            raise ReplaceHeld("; ".join(refused.values()))
        return RouteResult(sent, result.held, result.skipped, refused)

    def reconcile(self, broker: str) -> int:
        """Ask `broker` for the status of every order sent to it and not final."""
        with self.ctx.tx() as tx:
            return self.ask_status(tx, broker)

    def ask_status(self, tx: Tx, broker: str) -> int:
        s = tx.session
        orders = s.scalars(
            select(Order).where(
                Order.broker == broker, Order.status.in_(AT_BROKER), Order.parent_id.is_(None)
            )
        ).all()
        for o in orders:
            tx.outbound.append(routing.status_request(o, self.ctx.symbol(s, o).symbol))
            self.ctx.fire(tx, o, "status_request", self.ctx.username, None)
        return len(orders)
