"""Parsed custodian statements: the typed lines every file format is read into before storing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

ID_TYPES: tuple[str, ...] = ("ISIN", "CUSIP", "SEDOL", "TICKER")
KINDS: tuple[str, ...] = ("positions", "cash")


@dataclass(frozen=True, slots=True)
class PositionLine:
    """A settled holding as the custodian reports it, with our account code already mapped."""

    row: int
    custodian_account: str
    account_code: str
    security_ref: str
    id_type: str
    quantity: Decimal
    currency: str | None
    market_value: Decimal | None


@dataclass(frozen=True, slots=True)
class CashLine:
    """A settled cash balance as the custodian reports it (positive = credit)."""

    row: int
    custodian_account: str
    account_code: str
    currency: str
    amount: Decimal


@dataclass(frozen=True)
class ParsedStatement:
    """One file's content: which custodian, which format, the statement date and its lines."""

    custodian: str
    format: str
    kind: str
    as_of: date
    positions: tuple[PositionLine, ...] = field(default_factory=tuple)
    cash: tuple[CashLine, ...] = field(default_factory=tuple)

    @property
    def lines(self) -> int:
        return len(self.positions) + len(self.cash)
