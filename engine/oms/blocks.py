"""Blocks: released account orders aggregated by instrument and instructions, and their children.

A rebalance can make tens of thousands of children, so they move with Core statements in bulk
(engine.oms.journal.move_in_bulk checks each child's edge and appends its event row). Children
stay `in_block` while their block works and end with it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.oms.allocation import Want, pro_rata
from engine.oms.context import OmsContext, Tx
from engine.oms.events import OrderChanged
from engine.oms.ids import new_cl_ord_id
from engine.oms.journal import move_in_bulk
from engine.oms.status import FINAL, OrderStatus
from engine.oms.tables import ClientOrderId, Order
from engine.oms.transitions import BLOCK_CREATED, FOLLOW, Incoming
from engine.store.accounts import Account

S = OrderStatus


class Blocks:
    """Builds blocks and keeps their children in step with them."""

    def __init__(self, ctx: OmsContext) -> None:
        self.ctx = ctx

    def build(self, order_ids: Sequence[int] | None = None, min_children: int = 2) -> list[int]:
        """Aggregate released account orders into blocks by security, side, broker and instructions
        (order type, limit, time in force). Groups smaller than `min_children` route alone."""
        ctx = self.ctx
        with ctx.tx() as tx:
            s = tx.session
            t = Order.__table__
            q = select(t).where(
                t.c.status == S.RELEASED, t.c.parent_id.is_(None), t.c.account_id.is_not(None)
            )
            if order_ids is not None:
                q = q.where(t.c.id.in_(order_ids))
            groups: dict[tuple[Any, ...], list[Any]] = {}
            for r in s.execute(q.order_by(t.c.id)):
                key = (
                    r.security_id,
                    r.side,
                    r.broker,
                    r.order_type,
                    r.limit_price,
                    r.stop_price,
                    r.time_in_force,
                    r.expire_at,
                    r.strategy,
                    json.dumps(r.strategy_params, sort_keys=True),
                )
                groups.setdefault(key, []).append(r)
            codes = dict(s.execute(select(Account.id, Account.code)).all()) if groups else {}
            allowed = ctx.routable(s, set(codes.values())) if groups else set()
            traders = (
                ctx.stopped_traders(s, {r.created_by for g in groups.values() for r in g if r.created_by})
                if groups
                else {}
            )
            blocks = []
            now = ctx.clock.now()
            for children in groups.values():
                children = [
                    c for c in children if codes[c.account_id] in allowed and c.created_by not in traders
                ]
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
                    stop_price=first.stop_price,
                    expire_at=first.expire_at,
                    strategy=first.strategy,
                    strategy_params=first.strategy_params,
                    currency=first.currency,
                    broker=first.broker,
                    status=S.RELEASED,
                    cum_qty=Decimal(0),
                    leaves_qty=total,
                    avg_px=Decimal(0),
                    created_by=ctx.username,
                )
                s.add(block)
                s.flush()
                s.add(ClientOrderId(cl_ord_id=block.cl_ord_id, order_id=block.id, purpose="new"))
                ctx.fire(tx, block, BLOCK_CREATED, ctx.username, {"children": len(children)})
                s.flush()
                move_in_bulk(
                    s,
                    children,
                    str(Incoming.AGGREGATE),
                    str(Incoming.AGGREGATE),
                    ctx.username,
                    now,
                    {c.id: {"status": S.IN_BLOCK, "parent_id": block.id} for c in children},
                    {"block": block.cl_ord_id},
                )
                ctx.changed(tx, block)
                blocks.append(block.id)
            for obj in list(s.identity_map.values()):
                if isinstance(obj, Order) and obj.account_id is not None:
                    s.expire(obj)
            return blocks

    @staticmethod
    def children(s: Session, block: Order) -> list[Order]:
        return list(s.scalars(select(Order).where(Order.parent_id == block.id).order_by(Order.id)))

    def follow(self, tx: Tx, block: Order, kind: str) -> None:
        """Children stay `in_block` while their block works (the blotter shows the block's status
        above them) and end with it: a block that ends without fills ends its children the same
        way; one with fills ends them through allocation. Done in bulk, one event row each."""
        if block.account_id is None and block.status in FINAL:
            self.set_children(tx, block, {"status": str(block.status)}, kind, {"block": block.cl_ord_id})

    def set_children(
        self,
        tx: Tx,
        block: Order,
        values: dict[str, Any],
        kind: str,
        detail: dict[str, Any],
        per_child: dict[int, dict[str, Any]] | None = None,
    ) -> None:
        """End the block's live children (or those in `per_child`) as their block ended, with
        Core statements and one order_events row each; ORM copies are expired afterwards."""
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
        now = self.ctx.clock.now()
        merged = {r.id: dict(values, **(per_child or {}).get(r.id, {})) for r in rows}
        move_in_bulk(s, rows, FOLLOW, kind, self.ctx.username, now, merged, detail)
        for obj in list(s.identity_map.values()):
            if isinstance(obj, Order) and obj.parent_id == block.id:
                s.expire(obj)
        for r in rows:
            v = merged[r.id]
            tx.events.append(
                OrderChanged(
                    order_id=r.id,
                    cl_ord_id=r.cl_ord_id,
                    status=str(v.get("status", r.status)),
                    cum_qty=v.get("cum_qty", Decimal(0)),
                    leaves_qty=v.get("leaves_qty", r.quantity),
                    avg_px=v.get("avg_px", Decimal(0)),
                )
            )

    def resize_children(self, tx: Tx, block: Order, quantity: Decimal) -> None:
        """A block replaced to a smaller size: its children shrink pro rata, in round lots."""
        sec = self.ctx.symbol(tx.session, block)
        children = self.children(tx.session, block)
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
                self.ctx.fire(tx, c, "resized", None, detail)
