"""Status changes of an order: set the status and append its order_events row in the same session."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.oms import audit_hook  # noqa: F401  (every order event also goes to the audit chain)
from engine.oms.status import OrderStatus
from engine.store.trading import Order, OrderEvent


def record(
    session: Session,
    order: Order,
    status: OrderStatus | str,
    kind: str,
    username: str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Move `order` to `status` and append the event (also when the status stays the same)."""
    before = order.status
    order.status = str(status)
    session.add(
        OrderEvent(
            order_id=order.id,
            kind=kind,
            status_from=before,
            status_to=str(status),
            username=username,
            detail=detail,
        )
    )
