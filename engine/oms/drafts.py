"""What a new order is made of before the OMS gives it an id and a status."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from engine.model.trades import LotPick

ORDER_TYPES: tuple[str, ...] = ("market", "limit")
TIME_IN_FORCE: tuple[str, ...] = ("day", "gtc", "at_the_open", "at_the_close")
SIDES: tuple[str, ...] = ("buy", "sell")


@dataclass(frozen=True, slots=True)
class OrderDraft:
    """One account's order as a PM, a rebalance or an import asks for it."""

    account: str
    symbol: str
    side: str
    quantity: Decimal
    order_type: str = "market"
    limit_price: Decimal | None = None
    time_in_force: str = "day"
    broker: str | None = None
    proposal_id: int | None = None
    lots: tuple[LotPick, ...] = ()
