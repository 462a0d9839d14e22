"""What a new order is made of before the OMS gives it an id and a status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from engine.model.trades import LotPick

ORDER_TYPES: tuple[str, ...] = ("market", "limit", "stop", "stop_limit", "market_on_close", "limit_on_close")
TIME_IN_FORCE: tuple[str, ...] = ("day", "gtc", "gtd", "ioc", "fok", "at_the_open", "at_the_close")
SIDES: tuple[str, ...] = ("buy", "sell")
HAS_LIMIT: frozenset[str] = frozenset({"limit", "stop_limit", "limit_on_close"})
HAS_STOP: frozenset[str] = frozenset({"stop", "stop_limit"})
ON_CLOSE: frozenset[str] = frozenset({"market_on_close", "limit_on_close"})


@dataclass(frozen=True, slots=True)
class OrderDraft:
    """One account's order as a PM, a rebalance or an import asks for it.

    `stop_price` only for stop and stop_limit; `expire_at` (UTC) only and always for gtd; `strategy`
    one of the broker's (engine.oms.strategies) with its parameters."""

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
    stop_price: Decimal | None = None
    expire_at: datetime | None = None
    strategy: str | None = None
    strategy_params: tuple[tuple[str, str], ...] = ()
