"""Ports: the small interfaces through which the engine talks to the outside and across services.

Connectors implement the outward ones (execution, credentials); engine services implement the
inward ones so that one service can be built and tested before another exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.orm import Session

from engine.model.trades import TradeFill

if TYPE_CHECKING:  # the implementation's result type; imported lazily to keep ports free of cycles
    from engine.accounting.booking import BookingResult


class CredentialStore(Protocol):
    """Secrets from the OS keychain (connectors/credentials.py). Never a plaintext file."""

    def get(self, service: str, username: str) -> str | None: ...

    def set(self, service: str, username: str, secret: str) -> None: ...

    def delete(self, service: str, username: str) -> None: ...


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """A hypothetical or real order as compliance sees it before it may route."""

    account: str
    symbol: str
    side: str
    quantity: Decimal
    order_type: str = "market"
    limit_price: Decimal | None = None
    ref: str = ""


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """The verdict on one order: 'pass', 'warn', 'flag' or 'block', with a sentence per rule hit."""

    ref: str
    outcome: str
    messages: tuple[str, ...] = ()


class PreTradeChecker(Protocol):
    """Compliance as the OMS calls it: every order passes through this before it may be released."""

    def check(self, session: Session, orders: Sequence[OrderIntent], username: str) -> list[CheckOutcome]: ...


class TradeBooker(Protocol):
    """Accounting as the OMS calls it: book an allocation into lots, cash and settlement."""

    def book(self, session: Session, fill: TradeFill) -> BookingResult: ...


@dataclass(frozen=True, slots=True)
class MarketPrint:
    """One print of a market: when, at what price (the security's currency) and how many units."""

    at: datetime
    price: Decimal
    quantity: Decimal


class MarketDataPort(Protocol):
    """The market's prints as a connector gives them; the demo's is the SIMULATED broker's tape
    (connectors.broker_sim.tape). `source` names it on every stored price ("simulated")."""

    source: str

    def last(self, symbol: str, at: datetime) -> MarketPrint | None:
        """The last print at or before `at`, or None if the market has none for `symbol`."""
        ...

    def prints(self, symbol: str, start: datetime, end: datetime) -> list[MarketPrint]:
        """Every print from `start` to `end` (both included), oldest first."""
        ...
