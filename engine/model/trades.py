"""Immutable trade messages that cross service boundaries (OMS -> accounting, imports -> accounting)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from engine.model.enums import Side


@dataclass(frozen=True, slots=True)
class LotPick:
    """A specific-lot instruction: sell `quantity` from the lot `lot_ref`."""

    lot_ref: str
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class TradeFill:
    """One executed trade for one account, as booked into lots and cash.

    Price is in the security's currency; commission and fees too. `source_ref` makes booking
    idempotent (an ExecID, an allocation id, an import row key): booking it twice changes nothing.
    """

    account: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    trade_date: date
    source_ref: str
    settle_date: date | None = None
    commission: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    lots: tuple[LotPick, ...] = field(default_factory=tuple)
