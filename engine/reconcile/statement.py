"""Parsed custodian statements: the typed lines every file format is read into before storing.

A reader hands over its lines either as PositionLine/CashLine objects (small files, tests) or as
columns (`StatementColumns`: a million lines without a million Python objects). Either form reads
as the other: `positions`/`cash` build the line objects from the columns on first use, and
`columns()` builds the columns from the lines; storing uses the columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property

ID_TYPES: tuple[str, ...] = ("ISIN", "CUSIP", "SEDOL", "TICKER")
KINDS: tuple[str, ...] = ("positions", "cash")
POSITION_COLUMNS = (
    "row",
    "custodian_account",
    "account_code",
    "security_ref",
    "id_type",
    "quantity",
    "currency",
    "market_value",
)
CASH_COLUMNS = ("row", "custodian_account", "account_code", "currency", "amount")
NUMBER_COLUMNS = ("quantity", "market_value", "amount")


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
class StatementColumns:
    """A statement's lines column by column, in file order (POSITION_COLUMNS or CASH_COLUMNS).

    Numbers are kept as the decimal text read from the file after its conventions are applied
    ("-1234.56"; None when absent), so that `Decimal(text)` is exactly what the line reader
    returns and the database parses the same decimal (no binary float in between).
    """

    data: dict[str, list[object]]

    def __len__(self) -> int:
        return len(self.data["row"])


def _dec(text: object) -> Decimal | None:
    return None if text is None else Decimal(str(text))


class ParsedStatement:
    """One file's content: which custodian, which format, the statement date and its lines."""

    def __init__(
        self,
        custodian: str,
        format: str,
        kind: str,
        as_of: date,
        positions: tuple[PositionLine, ...] = (),
        cash: tuple[CashLine, ...] = (),
        *,
        table: StatementColumns | None = None,
    ) -> None:
        self.custodian = custodian
        self.format = format
        self.kind = kind
        self.as_of = as_of
        self._table = table
        if table is None:
            self.__dict__["positions"] = tuple(positions)
            self.__dict__["cash"] = tuple(cash)

    def __repr__(self) -> str:
        return f"ParsedStatement({self.custodian!r}, {self.format!r}, {self.kind!r}, {self.as_of}, {self.lines} lines)"

    @cached_property
    def positions(self) -> tuple[PositionLine, ...]:
        """The position lines (built from the columns on first use)."""
        if self.kind != "positions" or self._table is None:
            return ()
        d = self._table.data
        return tuple(
            PositionLine(r, ca, ac, sr, it, Decimal(str(q)), cc, _dec(mv))
            for r, ca, ac, sr, it, q, cc, mv in zip(*(d[c] for c in POSITION_COLUMNS))
        )

    @cached_property
    def cash(self) -> tuple[CashLine, ...]:
        """The cash lines (built from the columns on first use)."""
        if self.kind != "cash" or self._table is None:
            return ()
        d = self._table.data
        return tuple(
            CashLine(r, ca, ac, cc, Decimal(str(a)))
            for r, ca, ac, cc, a in zip(*(d[c] for c in CASH_COLUMNS))
        )

    @property
    def lines(self) -> int:
        if self._table is not None:
            return len(self._table)
        return len(self.positions) + len(self.cash)

    def counts(self) -> tuple[int, int]:
        """(position lines, cash lines) without building line objects."""
        n = self.lines
        if self._table is not None:
            return (n, 0) if self.kind == "positions" else (0, n)
        return len(self.positions), len(self.cash)

    def columns(self) -> tuple[StatementColumns, StatementColumns]:
        """(positions, cash) as columns; from the line objects when the reader gave those."""
        empty_p = StatementColumns({c: [] for c in POSITION_COLUMNS})
        empty_c = StatementColumns({c: [] for c in CASH_COLUMNS})
        if self._table is not None:
            return (self._table, empty_c) if self.kind == "positions" else (empty_p, self._table)
        pos = StatementColumns(
            {c: [getattr(p, c) for p in self.positions] for c in POSITION_COLUMNS} if self.positions else {}
        )
        cash = StatementColumns(
            {c: [getattr(x, c) for x in self.cash] for c in CASH_COLUMNS} if self.cash else {}
        )
        return (pos if self.positions else empty_p), (cash if self.cash else empty_c)
