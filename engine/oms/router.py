"""Routing: released orders go to their brokers (held for a closed market until its open), held
orders are released at the open or on the trader's command, and brokers are asked for status.

An order is committed as pending_new BEFORE it is handed to a FIX session, so a crash can lose a
send but never an order (see engine.oms.executions for what happens at the next logon).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Table, select

from engine.oms import routing, wave_route
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
        wave: bool = False,
    ) -> RouteResult:
        """Route released orders (blocks and lone account orders). An order for a closed market is
        held until its open, unless `outside_hours` (the trader's command, for brokers that take
        orders outside hours). Orders are committed as pending_new before anything is sent.
        `broker`: the trader's choice of session for these orders (a block's children follow it),
        recorded on each order's event; an order whose strategy that broker lacks is refused.
        A kill switch that cannot answer refuses the whole route (ControlFailed, nothing sent).
        `username`: a desk user's command, refused without orders.route (audited, nothing routed);
        without it the OMS itself routes (the headless OMS, release_due). Ordinary lone orders move
        in bulk (engine.oms.wave_route), the others one by one. `wave`: the engine thread routes
        the calls waiting (engine.oms.waves): the orders' sent_at is written by its next
        transaction, not one of its own."""
        ctx = self.ctx
        sent: list[int] = []
        held: list[int] = []
        skipped: list[int] = []
        with ctx.tx() as tx:
            s = tx.session
            if username is not None:
                ctx.allowed(s, username, "orders.route")
            if wave:
                ctx.stamp_waiting(tx)  # the last wave's hand-off times
            t = cast(Table, Order.__table__)
            q = select(t).where(t.c.status == S.RELEASED, t.c.parent_id.is_(None))
            if order_ids is not None:
                q = q.where(t.c.id.in_(order_ids))
            rows = list(s.execute(q.order_by(t.c.id)))
            secs = {
                x.id: x
                for x in s.scalars(select(Security).where(Security.id.in_({r.security_id for r in rows})))
            }
            account_ids = {r.account_id for r in rows if r.account_id is not None}
            codes = (
                dict(s.execute(select(Account.id, Account.code).where(Account.id.in_(account_ids))).all())
                if account_ids
                else {}
            )
            allowed = ctx.routable(s, {codes[r.account_id] for r in rows if r.account_id is not None})
            traders = ctx.stopped_traders(s, {r.created_by for r in rows if r.created_by})
            now = ctx.clock.now()
            mics = {secs[r.security_id].mic for r in rows}
            market_open = {m: outside_hours or ctx.release_time(m, now) is None for m in mics}
            bulk = [
                r
                for r in rows
                if wave_route.ordinary(
                    r, codes.get(r.account_id), allowed, traders, market_open[secs[r.security_id].mic], broker
                )
            ]
            wave_route.submit(ctx, tx, bulk, {r.id: secs[r.security_id].mic for r in bulk}, outside_hours)
            sends: list[tuple[Order, NewOrder]] = []
            for r in bulk:
                sec, o = secs[r.security_id], cast(Order, r)  # a Core row with the order's columns
                sends.append((o, routing.new_order(o, sec.symbol, sec.mic, codes.get(r.account_id))))
            done = {r.id for r in bulk}
            others = [r.id for r in rows if r.id not in done]
            orders = (
                list(s.scalars(select(Order).where(Order.id.in_(others)).order_by(Order.id)))
                if others
                else []
            )
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
            sends.sort(key=lambda x: x[0].id)
            # Several brokers for one security and side: their orders go in rotation (engine.oms.rotation).
            for o, message in rotate(s, sends, now):
                tx.outbound.append(message)
                sent.append(o.id)
            # Committed here (end of block) before tx sends: the crash checkpoints sit on both sides.
            outbound, tx.outbound = tx.outbound, []
        self.checkpoint("after_commit")
        handed = ctx.send_all(outbound)
        if handed and wave:
            ctx.stamp_later(handed)
        elif handed:
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
