"""The order list as `orders list --json` prints it: blocks with their children and allocations."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.oms.tables import Allocation, Order
from engine.store.accounts import Account
from engine.store.reference import Security


def _order(o: Order, symbols: dict[int, str], codes: dict[int, str]) -> dict[str, Any]:
    return {
        "id": o.id,
        "cl_ord_id": o.cl_ord_id,
        "orig_cl_ord_id": o.orig_cl_ord_id,
        "broker_order_id": o.broker_order_id,
        "account": codes.get(o.account_id) if o.account_id is not None else None,
        "block": o.account_id is None,
        "symbol": symbols[o.security_id],
        "side": o.side,
        "order_type": o.order_type,
        "limit_price": o.limit_price,
        "stop_price": o.stop_price,
        "time_in_force": o.time_in_force,
        "expire_at": o.expire_at,
        "strategy": o.strategy,
        "strategy_params": o.strategy_params,
        "broker": o.broker,
        "status": o.status,
        "order_qty": o.quantity,
        "cum_qty": o.cum_qty,
        "leaves_qty": o.leaves_qty,
        "avg_px": o.avg_px,
        "release_at": o.release_at,
        "trade_date": o.trade_date,
    }


def order_list(session: Session) -> list[dict[str, Any]]:
    """Every order; a block carries `children` and `allocations`, its children are not repeated."""
    symbols = dict(session.execute(select(Security.id, Security.symbol)).tuples().all())
    codes = dict(session.execute(select(Account.id, Account.code)).tuples().all())
    orders = list(session.scalars(select(Order).order_by(Order.id)))
    children: dict[int, list[Order]] = {}
    for o in orders:
        if o.parent_id is not None:
            children.setdefault(o.parent_id, []).append(o)
    allocs: dict[int, list[Allocation]] = {}
    for a in session.scalars(select(Allocation).order_by(Allocation.id)):
        allocs.setdefault(a.block_id, []).append(a)
    out = []
    for o in orders:
        if o.parent_id is not None:
            continue
        row = _order(o, symbols, codes)
        if o.account_id is None:
            row["children"] = [_order(c, symbols, codes) for c in children.get(o.id, [])]
        row["allocations"] = [
            {
                "account": codes[a.account_id],
                "cl_ord_id": next(
                    (c.cl_ord_id for c in children.get(o.id, []) if c.id == a.child_id), o.cl_ord_id
                ),
                "quantity": a.quantity,
                "avg_px": a.avg_px,
                "trade_date": a.trade_date,
                "settle_date": a.settle_date,
                "source_ref": a.source_ref,
                "booked": a.booked_at is not None,
            }
            for a in allocs.get(o.id, [])
        ]
        out.append(row)
    return out
