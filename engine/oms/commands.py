"""The desk's commands on orders: create (through compliance), approve, cancel and cancel/replace.

Each runs in one transaction after the user's permission check; the state machine refuses
what the order's status does not allow (OrderRejected / InvalidTransition, nothing changed).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidTransition, NotFound
from engine.oms import routing
from engine.oms.blocks import Blocks
from engine.oms.context import OmsContext, Tx
from engine.oms.controls import guarded
from engine.oms.drafts import HAS_LIMIT, OrderDraft
from engine.oms.errors import OrderRejected, ReplaceHeld
from engine.oms.ids import new_cl_ord_id
from engine.oms.journal import ORDER_MACHINE
from engine.oms.order_terms import term_problems
from engine.oms.recheck import loosened
from engine.oms.status import LOCAL, OrderStatus
from engine.oms.strategies import strategy_problems
from engine.oms.tables import ClientOrderId, Order
from engine.oms.transitions import COMPLIANCE_BLOCK, CREATED, Incoming
from engine.ports import OrderIntent
from engine.store.accounts import Account
from engine.store.reference import Security

S = OrderStatus
I = Incoming  # noqa: E741


class Commands:
    """Create, approve, cancel and replace orders for a signed-in desk user."""

    def __init__(self, ctx: OmsContext, blocks: Blocks) -> None:
        self.ctx = ctx
        self.blocks = blocks

    def create(self, drafts: Sequence[OrderDraft], username: str | None = None) -> list[int]:
        """Create orders and run them through compliance: pass/warn -> released, flag -> waits for
        approval (with an approval case), block -> rejected. A checker that fails creates nothing."""
        ctx = self.ctx
        user = username or ctx.username
        with ctx.tx() as tx:
            s = tx.session
            ctx.allowed(s, user, "orders.create")
            stopped = ctx.stopped_traders(s, {user})
            if stopped:
                raise OrderRejected(f"{user} may not enter orders now: {stopped[user]}")
            accounts = {
                a.code: a
                for a in s.scalars(select(Account).where(Account.code.in_({d.account for d in drafts})))
            }
            secs = {
                x.symbol: x
                for x in s.scalars(select(Security).where(Security.symbol.in_({d.symbol for d in drafts})))
            }
            orders: list[Order] = []
            for n, d in enumerate(drafts, 1):
                if d.account not in accounts:
                    raise NotFound(f"account {d.account!r} does not exist")
                if d.symbol not in secs:
                    raise NotFound(f"security {d.symbol!r} does not exist")
                sec = secs[d.symbol]
                self._check_terms(n, d, sec.mic)
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
                    stop_price=d.stop_price,
                    expire_at=d.expire_at,
                    strategy=d.strategy,
                    strategy_params=dict(d.strategy_params) or None,
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
                event = COMPLIANCE_BLOCK if outcome == "block" else CREATED
                ctx.fire(tx, o, event, user, detail, {"compliance": outcome})
                ctx.changed(tx, o)
            flagged = [o for o in orders if o.status == S.PENDING_APPROVAL]
            if flagged:
                self._open_cases(s, flagged, user)
            return [o.id for o in orders]

    def _check_terms(self, n: int, d: OrderDraft, mic: str) -> None:
        """Order type and time in force (engine.oms.order_terms): a broken rule refuses every order."""
        now = self.ctx.clock.now()
        bad = term_problems(
            d.order_type, d.time_in_force, d.limit_price, d.stop_price, d.expire_at,
            mic=mic, markets=self.ctx.markets, now=now,
        )  # fmt: skip
        bad += strategy_problems(d.broker, d.strategy, dict(d.strategy_params), d.order_type, d.time_in_force)
        if bad:
            why = "; ".join(f"{col}: {reason}" for col, reason in bad)
            raise OrderRejected(f"order {n} ({d.account} {d.side} {d.symbol}): {why}")

    def _check(
        self, s: Session, drafts: Sequence[OrderDraft], orders: Sequence[Order], user: str
    ) -> list[tuple[str, tuple[str, ...]]]:
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
        with guarded("the compliance check"):
            by_ref = {c.ref: c for c in self.ctx.checker.check(s, intents, user)}
        out = []
        for o in orders:
            c = by_ref.get(o.cl_ord_id)
            out.append(("flag", ("no compliance verdict",)) if c is None else (c.outcome, c.messages))
        return out

    def _open_cases(self, s: Session, orders: Sequence[Order], user: str) -> None:
        """Every flagged order waits in an approval case a reviewer can decide (engine.oms.cases)."""
        with guarded("opening the approval case"):
            self.ctx.cases.open(s, [o.id for o in orders], user)

    def approve(
        self,
        order_id: int,
        username: str | None = None,
        reason_code: str = "risk_accepted",
        comment: str = "",
    ) -> None:
        """A reviewer approves a flagged order through its approval case (four-eyes: never the
        order's creator; a hard block needs two approvers). The order is released once the case
        is approved; after a first override approval it keeps waiting for the second."""
        ctx = self.ctx
        user = username or ctx.username
        with ctx.tx() as tx:
            s = tx.session
            ctx.allowed(s, user, "approvals.decide")
            o = ctx.order(s, order_id)
            if not ORDER_MACHINE.allows(o.status, I.APPROVE):
                raise InvalidTransition("order", str(o.status), str(I.APPROVE))
            with guarded("the approval case"):
                approved = ctx.cases.decide(s, o.id, user, reason_code, comment)
            if approved:
                ctx.move(tx, o, I.APPROVE, user, {"reason_code": reason_code} if comment == "" else
                         {"reason_code": reason_code, "comment": comment})  # fmt: skip

    def cancel(self, order_id: int, username: str | None = None) -> None:
        """Cancel an order (a block's cancel goes to its children). Unsent orders cancel locally."""
        ctx = self.ctx
        with ctx.tx() as tx:
            s = tx.session
            ctx.allowed(s, username, "orders.route")
            o = ctx.order(s, order_id)
            if o.parent_id is not None:
                self._leave_block(tx, o, username)
                return
            if o.status in LOCAL:
                ctx.move(tx, o, I.CANCEL_REQUEST, username, {"local": True})
                self.blocks.follow(tx, o, "cancel")
                return
            if not ORDER_MACHINE.allows(o.status, I.CANCEL_REQUEST):
                raise OrderRejected(f"order {o.cl_ord_id} is {o.status}: it cannot be cancelled")
            cid = new_cl_ord_id("CX")
            s.add(ClientOrderId(cl_ord_id=cid, order_id=o.id, purpose="cancel", orig_cl_ord_id=o.cl_ord_id))
            o.prev_status = o.status
            ctx.fire(tx, o, I.CANCEL_REQUEST, username, {"cl_ord_id": cid})
            self.blocks.follow(tx, o, "cancel_request")
            ctx.changed(tx, o)
            tx.outbound.append(routing.cancel_order(o, cid, ctx.symbol(s, o).symbol))

    def _leave_block(self, tx: Tx, o: Order, username: str | None) -> None:
        """Cancel a child of a block that has not been sent: it leaves the block, which shrinks."""
        block = self.ctx.order(tx.session, o.parent_id or 0)
        if block.status not in LOCAL:
            raise OrderRejected(
                f"order {o.cl_ord_id} is part of working block {block.cl_ord_id}: cancel or reduce the block"
            )
        block.quantity -= o.quantity
        block.leaves_qty = block.quantity
        o.parent_id = None
        self.ctx.move(tx, o, I.CANCEL_REQUEST, username, {"left_block": block.cl_ord_id})
        self.ctx.fire(tx, block, "child_left", username, {"child": o.cl_ord_id})
        if block.quantity <= 0:
            self.ctx.move(tx, block, I.CANCEL_REQUEST, username, {"why": "no children left"})

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
        ctx = self.ctx
        user = username or ctx.username
        held: str | None = None
        cid = cl_ord_id = ""
        with ctx.tx() as tx:
            s = tx.session
            ctx.allowed(s, user, "orders.route")
            o = ctx.order(s, order_id)
            qty = o.quantity if quantity is None else quantity
            px = o.limit_price if limit_price is None else limit_price
            if qty <= o.cum_qty:
                raise OrderRejected(f"order {o.cl_ord_id}: new quantity {qty} must exceed filled {o.cum_qty}")
            if o.account_id is None and qty > o.quantity:
                raise OrderRejected(f"block {o.cl_ord_id}: a block can only be reduced (its children fix it)")
            if o.order_type in HAS_LIMIT and (px is None or px <= 0):
                raise OrderRejected(
                    f"order {o.cl_ord_id}: a {o.order_type} order needs a positive limit price"
                )
            if not ORDER_MACHINE.allows(o.status, I.REPLACE_REQUEST):
                raise OrderRejected(f"order {o.cl_ord_id} is {o.status}: it cannot be replaced")
            if o.account_id is not None:
                with guarded("the approval case"):
                    ctx.cases.settle(s, o.id, user)
            refusals = self._recheck(s, o, qty, px, user)
            if refusals:
                held = "; ".join(refusals)
                detail = {
                    "quantity": str(qty),
                    "limit_price": None if px is None else str(px),
                    "reason": held,
                }
                ctx.fire(tx, o, "replace_held", user, detail)
                ctx.changed(tx, o)
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
                ctx.fire(tx, o, I.REPLACE_REQUEST, user, detail)
                self.blocks.follow(tx, o, "replace_request")
                ctx.changed(tx, o)
                sec = ctx.symbol(s, o)
                tx.outbound.append(routing.replace_order(o, cid, sec.symbol, sec.mic, qty, px))
        if held is not None:
            raise ReplaceHeld(f"order {cl_ord_id}: replace not sent, held for compliance approval: {held}")
        return cid

    def _recheck(self, s: Session, o: Order, qty: Decimal, px: Decimal | None, user: str) -> list[str]:
        """Why the new terms may not route: an engaged kill switch over any of its accounts (a replace
        is routing, however tight), then each loosened account order (a block's children) that
        compliance's re-check refuses. Tighter terms need no re-check. Cancels are never stopped."""
        orders = [o] if o.account_id is not None else self.blocks.children(s, o)
        if not orders:
            return []
        codes = dict(
            s.execute(
                select(Account.id, Account.code).where(Account.id.in_({c.account_id for c in orders}))
            ).all()
        )
        stopped = sorted(set(codes.values()) - self.ctx.routable(s, set(codes.values())))
        if stopped:
            return [f"routing stopped for account {code} (kill switch)" for code in stopped]
        traders = self.ctx.stopped_traders(s, {c.created_by for c in orders if c.created_by})
        if traders:
            return [f"routing stopped for trader {t} (kill switch)" for t in sorted(traders)]
        symbol = self.ctx.symbol(s, o).symbol
        out = []
        for c in orders:
            code = codes[c.account_id or 0]
            before = OrderIntent(code, symbol, c.side, c.quantity, c.order_type, c.limit_price, ref=str(c.id))
            after = OrderIntent(
                code, symbol, c.side, qty if c is o else c.quantity, c.order_type, px, ref=str(c.id)
            )
            why = loosened(before, after)
            if why is None:
                continue
            with guarded("compliance's re-check"):
                verdict = self.ctx.recheck(s, c.id, before, after, user)
            if not verdict.ok:
                out.append(verdict.reason or f"{code}: {why}")
        return out
