"""Outbound FIX messages built from stored orders (the order is committed before any is sent)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.oms.messages import CancelOrder, NewOrder, ReplaceOrder, StatusRequest
from engine.oms.strategies import broker_strategies
from engine.oms.tables import Order


def _strategy(order: Order) -> dict[str, Any]:
    """The order's strategy as its broker's TargetStrategy code and its parameters (sorted)."""
    if order.strategy is None:
        return {}
    found = broker_strategies().get((order.broker or "", order.strategy))
    code = found.code if found is not None else order.strategy
    return {"strategy": code, "strategy_params": tuple(sorted((order.strategy_params or {}).items()))}


def new_order(order: Order, symbol: str, mic: str, account: str | None) -> NewOrder:
    return NewOrder(
        broker=order.broker or "",
        cl_ord_id=order.cl_ord_id,
        symbol=symbol,
        mic=mic,
        side=order.side,
        quantity=order.quantity,
        order_type=order.order_type,
        time_in_force=order.time_in_force,
        currency=order.currency,
        limit_price=order.limit_price,
        account=account,
        stop_price=order.stop_price,
        expire_at=order.expire_at,
        **_strategy(order),
    )


def cancel_order(order: Order, cl_ord_id: str, symbol: str) -> CancelOrder:
    return CancelOrder(
        broker=order.broker or "",
        cl_ord_id=cl_ord_id,
        orig_cl_ord_id=order.cl_ord_id,
        symbol=symbol,
        side=order.side,
        quantity=order.quantity,
        broker_order_id=order.broker_order_id,
    )


def replace_order(
    order: Order, cl_ord_id: str, symbol: str, mic: str, quantity: Decimal, limit_price: Decimal | None
) -> ReplaceOrder:
    return ReplaceOrder(
        broker=order.broker or "",
        cl_ord_id=cl_ord_id,
        orig_cl_ord_id=order.cl_ord_id,
        symbol=symbol,
        mic=mic,
        side=order.side,
        quantity=quantity,
        order_type=order.order_type,
        time_in_force=order.time_in_force,
        currency=order.currency,
        limit_price=limit_price,
        broker_order_id=order.broker_order_id,
        stop_price=order.stop_price,
        expire_at=order.expire_at,
        **_strategy(order),
    )


def status_request(order: Order, symbol: str) -> StatusRequest:
    return StatusRequest(
        broker=order.broker or "",
        cl_ord_id=order.cl_ord_id,
        symbol=symbol,
        side=order.side,
        broker_order_id=order.broker_order_id,
    )
