"""Post-trade checks after fills: listens for filled orders and publishes the filled accounts'
breaches (a cap now breached, an overdraft...) as a `PostTradeBreaches` event."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from engine.compliance.posttrade import Breach, after_fills
from engine.events import Event, EventBus, Subscription
from engine.oms.events import OrderChanged
from engine.oms.tables import Order
from engine.store.accounts import Account
from engine.store.database import Database

log = logging.getLogger(__name__)
FILL_STATES = ("filled", "partially_filled")


@dataclass(frozen=True, kw_only=True)
class PostTradeBreaches(Event):
    """Breaches found in the accounts of a filled order (empty tuple: the fill left them clean)."""

    order_id: int
    accounts: tuple[str, ...]
    breaches: tuple[Breach, ...]


class PostTradeWatcher:
    """Subscribes to OrderChanged; on a (partial) fill checks the account(s) the order belongs to.

    A block order's accounts are those of its children. Unsubscribe with `close()`.
    """

    def __init__(self, database: Database, bus: EventBus) -> None:
        self.database = database
        self.bus = bus
        self.sub: Subscription[OrderChanged] = bus.subscribe(OrderChanged, self.on_change)

    def on_change(self, ev: OrderChanged) -> None:
        if ev.status not in FILL_STATES:
            return
        with self.database.session() as s:
            codes = list(
                s.scalars(
                    select(Account.code)
                    .join(Order, Order.account_id == Account.id)
                    .where((Order.id == ev.order_id) | (Order.parent_id == ev.order_id))
                    .distinct()
                )
            )
            if not codes:
                return
            breaches = after_fills(s, codes)
        self.bus.publish(
            PostTradeBreaches(order_id=ev.order_id, accounts=tuple(sorted(codes)), breaches=tuple(breaches))
        )

    def close(self) -> None:
        self.sub.unsubscribe()
